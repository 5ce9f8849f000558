#!/bin/bash
# The recipes of docs/recipes.md, run for real: fan-out to several readers
# with tee, and readers on another host through GStreamer's own network
# elements, over loopback.  Every process is its own gst-launch-1.0; the
# source is teed into a checksumsink, so every frame a reader gets is
# compared with the frame the source made (gst-recipes-compare.py).
# Scenario (first argument):
#   fanout      videotestsrc ! tee into two zerosinks: buffer A (a plain
#               queue, a fast reader) and buffer B (a leaky queue, a reader
#               taking 50 ms a frame).  A gets all 300 frames in order and
#               is done while B has read fewer than half of them, so A's
#               rate is not B's; B gets fewer frames, in order, each intact;
#               every process reaches EOS and exits 0
#   fanout-drop the same with no queue on B's branch and zerosink
#               on-full=drop: B's losses are counted in frames-dropped
#   fanout-reconnect  a live source; B's reader leaves mid-stream and a
#               new one comes (zerosink on-reader-lost=reconnect): A's
#               reader gets every frame all the while; B's readers get
#               frames in order; Ctrl-C (-e) of the source is EOS for all
#   fanout-late B's reader comes only after the source started (the
#               pipeline as the recipe has it: no async=false, nothing
#               dropping queries): A gets frames meanwhile, B's new
#               reader gets frames from when it came, in order
#   tcp         lossless, the receiver listening: zerosrc ! gdppay !
#               tcpclientsink -> tcpserversrc ! gdpdepay ! zerosink, and a
#               final reader taking 5 ms a frame: every frame byte-equal,
#               the caps and every timestamp (pts, dts, duration, offsets,
#               discont) as the sender had them, EOS end to end, all exit 0
#   tcp-server  the sender serving: zerosrc ! gdppay ! tcpserversink ->
#               tcpclientsrc ! gdpdepay ! zerosink, a live 50 fps source;
#               the client connected before the first frame gets every
#               frame from the first, in order, with caps and timestamps,
#               until it leaves (Ctrl-C, -e: EOS to its reader); then the
#               source ends and the server exits 0.  (At its own EOS
#               tcpserversink closes its clients and drops what they have
#               not read yet: a lagging client loses the tail, so here the
#               client ends first; see docs/recipes.md)
#   rtp         live: zerosrc ! rtpvrawpay ! udpsink -> udpsrc !
#               rtpvrawdepay ! zerosink, 120 frames at 60 fps; losses
#               counted and reported; at least half the frames arrive
#               intact, in order; a frame damaged by lost packets only
#               stands in for a lost one; capssetter puts back the framerate
#               rtpvrawdepay drops, so the final reader has the source's
#               format, size and rate; the receiver ends on Ctrl-C (-e)
#               once udpsrc saw nothing for 500 ms; all exit 0
VARIANT=${1:-fanout}

# Our three system plugins plus the network ones (meson links them into a
# directory of their own, so the other tests' registries stay small).
if [ -n "${ZB_GST_REGISTRY_DIR:-}" ] \
    && [ -d "$ZB_GST_REGISTRY_DIR/gst-system-plugins-net" ]; then
  export GST_PLUGIN_SYSTEM_PATH_1_0="$ZB_GST_REGISTRY_DIR/gst-system-plugins-net"
fi
source "$(dirname "$0")/gst-common.sh"

COMPARE=$(dirname "$0")/gst-recipes-compare.py
command -v python3 >/dev/null \
  || { echo "SKIP: python3 is not installed"; exit 77; }

case $VARIANT in
  fanout|fanout-drop|fanout-reconnect|fanout-late) need=(tee queue) ;;
  tcp) need=(tee queue gdppay gdpdepay tcpclientsink tcpserversrc) ;;
  tcp-server) need=(tee queue gdppay gdpdepay tcpserversink tcpclientsrc) ;;
  rtp) need=(tee queue rtpvrawpay rtpvrawdepay udpsink udpsrc capssetter) ;;
  *) fail "unknown variant $VARIANT" ;;
esac
for f in "${need[@]}"; do
  "${GST_INSPECT_CMD[@]}" --exists "$f" \
    || { echo "SKIP: system element $f is not installed"; exit 77; }
done

# compare MODE REF OUT: checksums of OUT against those of REF (logs); sets
# CMP and its GOOD, DAMAGED and LOST counts; fails unless OUT is what MODE
# asks (see gst-recipes-compare.py).
compare () {
  checksums "$2" >"$WORK/$2.sums"
  checksums "$3" >"$WORK/$3.sums"
  python3 "$COMPARE" "$1" "$WORK/$2.sums" "$WORK/$3.sums" \
    >"$WORK/$3.cmp" 2>&1 || fail "$3 against $2: $(cat "$WORK/$3.cmp")"
  CMP=$(cat "$WORK/$3.cmp")
  echo "$3: $CMP"
  GOOD=$(sed -n 's/.* good=\([0-9]*\).*/\1/p' <<<"$CMP")
  DAMAGED=$(sed -n 's/.* damaged=\([0-9]*\).*/\1/p' <<<"$CMP")
  LOST=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$CMP")
  DISTINCT=$(sed -n 's/.* distinct=\([0-9]*\).*/\1/p' <<<"$CMP")
  REF=$(sed -n 's/.* ref=\([0-9]*\).*/\1/p' <<<"$CMP")
  # snow: every source frame differs, so a match names one frame.
  [ "$DISTINCT" = "$REF" ] || fail "$2: only $DISTINCT of $REF frames differ"
}

# stamps LOG ELEMENT: what identity ELEMENT (silent=false, gst-launch -v)
# saw of each buffer: size, dts, pts, duration, offset, offset_end, and
# "discont" when flagged (the other flags are local to a process).
stamps () {
  sed -nE "s#^/GstPipeline:pipeline0/GstIdentity:$2: last-message = \
chain +\*+ \($2:sink\) \((.*), flags: [0-9a-f]+ (.*), meta: .*#\1 [\2]#p" \
    "$WORK/$1.out" | sed -E 's/ \[.*discont.*\]$/ discont/; s/ \[.*\]$//'
}

# max_counter LOG ELEMENT PROP: the largest value gst-launch -v printed
# (0 if none).  gst-launch -v can miss a notification when two elements
# notify at the same moment (deep-notify does not recurse: one emission
# swallows the other), so a count is checked at its largest, and only for
# one that is notified as it changes as well as at the end.
max_counter () {
  sed -n "s|^/GstPipeline:pipeline0/[A-Za-z]*:$2: $3 = \([0-9]*\)\$|\1|p" \
    "$WORK/$1.out" | sort -n | tail -n 1 | grep . || echo 0
}

# wait_sums LOG N SECONDS: wait until checksumsink in LOG printed N frames.
wait_sums () {
  local deadline
  deadline=$(( $(now_us) + $3 * 1000000 ))
  while [ "$(checksums "$1" | wc -l)" -lt "$2" ]; do
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.01
  done
}

# counter LOG ELEMENT PROP: the last value gst-launch -v printed.
counter () {
  sed -n "s|^/GstPipeline:pipeline0/[A-Za-z]*:$2: $3 = \([0-9]*\)\$|\1|p" \
    "$WORK/$1.out" | tail -n 1
}

# caps_field CAPS FIELD: one field's value, as "(type)value".
caps_field () {
  sed -n "s/.*[ ,]$2=\(([a-z]*)[^,]*\).*/\1/p" <<<"$1"
}

# The source, teed: every frame into a checksumsink (log LOG) and into
# zerosink buffer NAME.  src_start LOG NAME CAPS [SRC-PROPS...]
src_start () {
  local log=$1 name=$2 caps=$3
  shift 3
  gst_start "$log" -e -v videotestsrc pattern=snow "$@" ! "$caps" \
    ! tee name=t ! queue ! checksumsink hash=sha1 sync=false \
    t. ! queue ! zerosink buffer-name="$name" sync=false
  SRC=$PID
}

# bound SECONDS: a deadline that is an upper bound on time, scaled.
bound () {
  echo $(($1 * SCALE))
}

case $VARIANT in
  fanout|fanout-drop)
    FRAMES=300
    CAPS="video/x-raw,format=RGB,width=320,height=240,framerate=30/1"
    new_name fan-a; A=$NAME
    new_name fan-b; B=$NAME
    # B's branch: a leaky queue in front of zerosink (fanout), or no
    # queue and a zerosink that drops what its full ring cannot take
    # (fanout-drop: tee pushes into it in the source's thread).
    if [ $VARIANT = fanout ]; then
      b_branch=(queue leaky=downstream max-size-buffers=2 max-size-bytes=0
        max-size-time=0 ! zerosink name=zb buffer-name="$B" sync=false)
    else
      b_branch=(zerosink name=zb buffer-name="$B" sync=false on-full=drop)
    fi
    # A fast reader on A; a slow one on B (50 ms a frame; its ring holds
    # four frames).
    gst_start fast -v zerosrc buffer-name="$A" payload-size=4M \
      ! checksumsink hash=sha1 sync=false
    FAST=$PID
    gst_start slow -v zerosrc buffer-name="$B" payload-size=1M \
      ! identity sleep-time=50000 ! checksumsink hash=sha1 sync=false
    SLOW=$PID
    wait_shm "$A" "$FAST" 10 || fail "zerosrc did not create $A"
    wait_shm "$B" "$SLOW" 10 || fail "zerosrc did not create $B"

    T0=$(now_us)
    gst_start src -v videotestsrc pattern=snow num-buffers=$FRAMES \
      ! "$CAPS" ! tee name=t \
      t. ! queue ! checksumsink hash=sha1 sync=false \
      t. ! queue ! zerosink name=za buffer-name="$A" sync=false \
      t. ! "${b_branch[@]}"
    SRC=$PID

    expect_exit "$FAST" 60 0 "fast reader"
    fast_ms=$(ms_between "$T0" "$EXIT_US")
    slow_then=$(checksums slow | wc -l)
    expect_exit "$SRC" 60 0 "source"
    expect_exit "$SLOW" 60 0 "slow reader"
    slow_ms=$(ms_between "$T0" "$EXIT_US")
    for l in src fast slow; do
      expect_no_error $l
      expect_log $l '^Got EOS from element "pipeline0"'
    done

    compare exact src fast
    [ "$GOOD" -eq $FRAMES ] || fail "fast reader got $GOOD frames"
    compare subseq src slow
    slow_n=$GOOD
    # The fast reader was done while the slow one had read fewer than
    # half the frames: it did not go at the slow one's pace.
    [ $((slow_then * 2)) -lt $FRAMES ] || fail "the slow reader had read \
$slow_then of $FRAMES frames when the fast one was done: A waited for B"
    [ "$slow_n" -lt $FRAMES ] || fail "the slow reader got every frame: \
nothing was dropped for it"
    [ "$slow_n" -gt 0 ] || fail "the slow reader got nothing"
    # B's losses: dropped by the leaky queue (which counts nothing), or
    # by zerosink, which counts them in frames-dropped.
    if [ $VARIANT = fanout ]; then
      dropped_by="its leaky queue"
      want_dropped=0
    else
      dropped_by="zerosink (frames-dropped)"
      want_dropped=$((FRAMES - slow_n))
    fi
    [ "$(max_counter src zb frames-dropped)" = $want_dropped ] || fail \
      "zerosink B dropped $(max_counter src zb frames-dropped), expected \
$want_dropped"
    echo "fast reader: $FRAMES frames in $fast_ms ms" \
      "($((FRAMES * 1000 / (fast_ms + 1))) fps); slow reader had" \
      "$slow_then then, $slow_n in all in $slow_ms ms" \
      "($((slow_n * 1000 / (slow_ms + 1))) fps), $((FRAMES - slow_n)) dropped" \
      "by $dropped_by"
    assert_clean "$A"
    assert_clean "$B"
    ;;

  fanout-reconnect)
    # A live source, both readers there at first.  B's reader leaves (a
    # container restarting); B's zerosink (on-reader-lost=reconnect) waits
    # for a new one in its own queue's thread while its leaky queue drops;
    # A's reader gets every frame all along; a new reader of B comes and
    # gets frames from then on; Ctrl-C (-e) of the source is EOS for all.
    CAPS="video/x-raw,format=RGB,width=160,height=120,framerate=30/1"
    new_name fan-a; A=$NAME
    new_name fan-b; B=$NAME
    gst_start fast -v zerosrc buffer-name="$A" payload-size=1M \
      ! checksumsink hash=sha1 sync=false
    FAST=$PID
    gst_start b1 -e -v zerosrc buffer-name="$B" payload-size=1M \
      ! checksumsink hash=sha1 sync=false
    B1=$PID
    wait_shm "$A" "$FAST" 10 || fail "zerosrc did not create $A"
    wait_shm "$B" "$B1" 10 || fail "zerosrc did not create $B"
    gst_start src -e -v videotestsrc is-live=true pattern=snow ! "$CAPS" \
      ! tee name=t \
      t. ! queue ! checksumsink hash=sha1 sync=false \
      t. ! queue ! zerosink name=za buffer-name="$A" \
      t. ! queue leaky=downstream max-size-buffers=2 max-size-bytes=0 \
        max-size-time=0 ! zerosink name=zb buffer-name="$B" \
        on-reader-lost=reconnect connect-timeout=-1
    SRC=$PID
    wait_sums b1 15 20 || fail "reader B got no frames"
    wait_sigint_handler "$B1" 10 || fail "reader B has no SIGINT handler"
    kill -INT "$B1"
    expect_exit "$B1" "$(bound 10)" 0 "reader B"
    assert_clean "$B"
    # B's reader is gone: A goes on.
    a_then=$(checksums fast | wc -l)
    wait_sums fast $((a_then + 30)) 20 \
      || fail "reader A stalled while B had no reader"
    gst_start b2 -v zerosrc buffer-name="$B" payload-size=1M \
      ! checksumsink hash=sha1 sync=false
    B2=$PID
    wait_sums b2 15 20 || fail "the new reader of B got no frames"
    wait_sigint_handler "$SRC" 10 || fail "source has no SIGINT handler"
    kill -INT "$SRC"
    expect_exit "$SRC" "$(bound 10)" 0 "source"
    expect_exit "$FAST" "$(bound 10)" 0 "reader A"
    expect_exit "$B2" "$(bound 10)" 0 "new reader B"
    for l in src fast b1 b2; do
      expect_no_error $l
      expect_log $l '^Got EOS from element "pipeline0"'
    done
    compare exact src fast
    all=$GOOD
    # What both readers of B got, one after the other: in order.
    cat "$WORK/b1.out" "$WORK/b2.out" >"$WORK/b.out"
    compare subseq src b
    echo "reader A: all $all frames; B: $(checksums b1 | wc -l) to its" \
      "first reader, $(checksums b2 | wc -l) to its second," \
      "$((all - GOOD)) lost to B in all"
    assert_clean "$A"
    assert_clean "$B"
    ;;

  fanout-late)
    # zerosink B waits for its reader in render, without the preroll
    # lock, so neither the pipeline's state changes nor tee's allocation
    # query wait for it (they did while it waited in its caps handling).
    CAPS="video/x-raw,format=RGB,width=160,height=120,framerate=30/1"
    new_name fan-a; A=$NAME
    new_name fan-b; B=$NAME
    gst_start fast -v zerosrc buffer-name="$A" payload-size=1M \
      ! checksumsink hash=sha1 sync=false
    FAST=$PID
    wait_shm "$A" "$FAST" 10 || fail "zerosrc did not create $A"
    gst_start src -e -v videotestsrc is-live=true pattern=snow ! "$CAPS" \
      ! tee name=t \
      t. ! queue ! checksumsink hash=sha1 sync=false \
      t. ! queue ! zerosink name=za buffer-name="$A" \
      t. ! queue leaky=downstream max-size-buffers=2 max-size-bytes=0 \
        max-size-time=0 ! zerosink name=zb buffer-name="$B" connect-timeout=-1
    SRC=$PID
    wait_sums fast 30 20 || fail "reader A got no frames while B had no reader"
    [ ! -e "/dev/shm/$B" ] || fail "$B exists before its reader"
    a_alone=$(checksums fast | wc -l)
    gst_start late -v zerosrc buffer-name="$B" payload-size=1M \
      ! checksumsink hash=sha1 sync=false
    LATE=$PID
    wait_sums late 20 20 || fail "the late reader got no frames"
    wait_sigint_handler "$SRC" 10 || fail "source has no SIGINT handler"
    kill -INT "$SRC"
    expect_exit "$SRC" "$(bound 10)" 0 "source"
    expect_exit "$FAST" "$(bound 10)" 0 "reader A"
    expect_exit "$LATE" "$(bound 10)" 0 "late reader B"
    for l in src fast late; do
      expect_no_error $l
      expect_log $l '^Got EOS from element "pipeline0"'
    done
    compare exact src fast
    all=$GOOD
    compare subseq src late
    echo "reader A: $all frames, $a_alone of them before reader B came;" \
      "reader B: $GOOD"
    assert_clean "$A"
    assert_clean "$B"
    ;;

  tcp|tcp-server)
    CAPS="video/x-raw,format=RGB,width=320,height=240,framerate=30/1"
    new_name net-s; S=$NAME
    new_name net-t; T=$NAME
    if [ "$VARIANT" = tcp ]; then
      FRAMES=150
      # The final reader takes 5 ms a frame: TCP pushes back, through
      # zerosink's full ring, to the sender, which waits; nothing lost.
      gst_start rx -v zerosrc buffer-name="$T" payload-size=2M \
        ! identity sleep-time=5000 ! checksumsink hash=sha1 sync=false
      RX=$PID
      wait_shm "$T" "$RX" 10 || fail "zerosrc did not create $T"
      # The receiving host listens (port 0: the kernel picks a free one).
      gst_start recv -v tcpserversrc host=127.0.0.1 port=0 ! gdpdepay \
        ! identity name=got silent=false ! zerosink buffer-name="$T" \
        sync=false
      RECV=$PID
      wait_line recv 'tcpserversrc0: current-port = [1-9]' 20 \
        || fail "tcpserversrc did not listen"
      PORT=$(sed -n 's/.*tcpserversrc0: current-port = //p' \
        "$WORK/recv.out" | head -n 1)
      gst_start send -v zerosrc buffer-name="$S" payload-size=2M \
        ! identity name=sent silent=false ! gdppay \
        ! tcpclientsink host=127.0.0.1 port="$PORT" sync=false
      SEND=$PID
      wait_shm "$S" "$SEND" 10 || fail "zerosrc did not create $S"
      src_start src "$S" "$CAPS" num-buffers=$FRAMES
      expect_exit "$SRC" 60 0 "source"
      expect_exit "$SEND" 30 0 "sender"
      expect_exit "$RECV" 30 0 "receiver"
      expect_exit "$RX" 30 0 "reader"
      for l in src send recv rx; do
        expect_no_error $l
        expect_log $l '^Got EOS from element "pipeline0"'
      done
      compare exact src rx
    else
      FRAMES=100
      CAPS=${CAPS/30\/1/50\/1}
      gst_start rx -v zerosrc buffer-name="$T" payload-size=4M \
        ! checksumsink hash=sha1 sync=false
      RX=$PID
      wait_shm "$T" "$RX" 10 || fail "zerosrc did not create $T"
      # The sending host serves; its debug log says when a client is in.
      gst_start_env send GST_DEBUG=tcpserversink:5 -- -v \
        zerosrc buffer-name="$S" payload-size=4M \
        ! identity name=sent silent=false ! gdppay \
        ! tcpserversink host=127.0.0.1 port=0 sync=false
      SEND=$PID
      wait_line send 'tcpserversink0: current-port = [1-9]' 20 \
        || fail "tcpserversink did not listen"
      PORT=$(sed -n 's/.*tcpserversink0: current-port = //p' \
        "$WORK/send.out" | head -n 1)
      wait_shm "$S" "$SEND" 10 || fail "zerosrc did not create $S"
      gst_start recv -e -v tcpclientsrc host=127.0.0.1 port="$PORT" \
        ! gdpdepay ! identity name=got silent=false \
        ! zerosink buffer-name="$T" sync=false
      RECV=$PID
      # tcpserversink sends a client only what comes after it joined.
      wait_in send.err 'added new client' 20 \
        || fail "tcpserversink did not take the client"
      src_start src "$S" "$CAPS" is-live=true
      wait_sums rx $FRAMES 60 || fail "the reader did not get $FRAMES frames"
      # The client leaves: Ctrl-C with -e is an EOS for its reader.
      wait_sigint_handler "$RECV" 10 || fail "receiver has no SIGINT handler"
      kill -INT "$RECV"
      expect_exit "$RECV" "$(bound 10)" 0 "receiver"
      expect_exit "$RX" "$(bound 10)" 0 "reader"
      # Then the source ends: the server, clientless, ends too.
      wait_sigint_handler "$SRC" 10 || fail "source has no SIGINT handler"
      kill -INT "$SRC"
      expect_exit "$SRC" "$(bound 10)" 0 "source"
      expect_exit "$SEND" "$(bound 10)" 0 "sender"
      for l in src send recv rx; do
        expect_no_error $l
        expect_log $l '^Got EOS from element "pipeline0"'
      done
      compare prefix src rx
      [ "$GOOD" -ge $FRAMES ] || fail "the reader got $GOOD frames"
    fi
    n=$GOOD
    # Timestamps crossed with the frames: the receiver's gdpdepay gave
    # what the sender's zerosrc made (here pts n/30 from the framerate).
    stamps send sent >"$WORK/sent.stamps"
    stamps recv got >"$WORK/got.stamps"
    [ "$(wc -l <"$WORK/got.stamps")" -eq "$n" ] || fail "the receiver \
passed $(wc -l <"$WORK/got.stamps") buffers, the reader got $n"
    head -n "$n" "$WORK/sent.stamps" | cmp -s - "$WORK/got.stamps" \
      || fail "timestamps differ across TCP:
$(diff <(head -n "$n" "$WORK/sent.stamps") "$WORK/got.stamps" | head -n 6)"
    ! grep -q 'pts: none' "$WORK/got.stamps" || fail "buffers without pts"
    grep -q '^[0-9]* bytes, .* offset: 0, offset_end:  1 discont$' \
      "$WORK/got.stamps" || fail "the first buffer lost its discont flag"
    # The caps crossed too, and the final reader has the source's caps.
    c_src=$(pad_caps src capsfilter0 src)
    [ -n "$c_src" ] || fail "no caps from the source"
    [ "$(pad_caps send zerosrc0 src)" = "$c_src" ] \
      || fail "sender caps: $(pad_caps send zerosrc0 src)"
    [ "$(pad_caps recv gdpdepay0 src)" = "$c_src" ] \
      || fail "caps after gdpdepay: $(pad_caps recv gdpdepay0 src)"
    [ "$(pad_caps rx zerosrc0 src)" = "$c_src" ] \
      || fail "reader caps: $(pad_caps rx zerosrc0 src)"
    echo "$n frames over TCP ($VARIANT) byte-equal, caps and $n timestamps kept"
    assert_clean "$S"
    assert_clean "$T"
    ;;

  rtp)
    FRAMES=120
    W=160 H=120 FPS=60
    CAPS="video/x-raw,format=RGB,width=$W,height=$H,framerate=$FPS/1"
    RTP_CAPS="application/x-rtp,media=video,clock-rate=90000,\
encoding-name=RAW,sampling=RGB,depth=(string)8,width=(string)$W,\
height=(string)$H,a-framerate=(string)$FPS,payload=96"
    new_name net-s; S=$NAME
    new_name net-t; T=$NAME
    gst_start rx -v zerosrc buffer-name="$T" payload-size=2M \
      ! checksumsink hash=sha1 sync=false
    RX=$PID
    wait_shm "$T" "$RX" 10 || fail "zerosrc did not create $T"
    # The receiving host: UDP has no connection, the caps are written out
    # (they are what rtpvrawpay announces).  rtpvrawdepay ignores
    # a-framerate (its caps say 0/1): capssetter puts the rate back, for
    # the reader's metadata.  timeout: a message when nothing came for
    # 500 ms.
    gst_start recv -e -v -m udpsrc address=127.0.0.1 port=0 \
      timeout=500000000 caps="$RTP_CAPS" ! rtpvrawdepay \
      ! capssetter caps="video/x-raw,framerate=$FPS/1" \
      ! zerosink buffer-name="$T" sync=false
    RECV=$PID
    wait_line recv 'udpsrc0: port = [1-9]' 20 || fail "udpsrc did not bind"
    PORT=$(sed -n 's/.*udpsrc0: port = //p' "$WORK/recv.out" | head -n 1)
    # The sending host: udpsink syncs, so frames go at the framerate.
    gst_start send -v zerosrc buffer-name="$S" payload-size=2M \
      ! rtpvrawpay ! udpsink host=127.0.0.1 port="$PORT"
    SEND=$PID
    wait_shm "$S" "$SEND" 10 || fail "zerosrc did not create $S"
    src_start src "$S" "$CAPS" num-buffers=$FRAMES
    expect_exit "$SRC" 60 0 "source"
    expect_exit "$SEND" 60 0 "sender"
    # RTP carries no end of stream: the receiver ends when told, once
    # udpsrc says nothing came for 500 ms after the sender was gone.
    seen=$(grep -c GstUDPSrcTimeout "$WORK/recv.out")
    deadline=$(( $(now_us) + 20000000 ))
    while [ "$(grep -c GstUDPSrcTimeout "$WORK/recv.out")" -le "$seen" ]; do
      [ "$(now_us)" -lt "$deadline" ] || fail "udpsrc never went quiet"
      sleep 0.01
    done
    wait_sigint_handler "$RECV" 10 || fail "receiver has no SIGINT handler"
    kill -INT "$RECV"
    expect_exit "$RECV" "$(bound 10)" 0 "receiver"
    expect_exit "$RX" "$(bound 10)" 0 "reader"
    for l in src send recv rx; do
      expect_no_error $l
      expect_log $l '^Got EOS from element "pipeline0"'
    done
    # What rtpvrawpay announced is what the receiver was told.
    c=$(pad_caps send rtpvrawpay0 src)
    for f in media clock-rate encoding-name sampling depth width height \
        a-framerate payload; do
      [ "$(caps_field "$c" $f)" = "$(caps_field "$(pad_caps recv udpsrc0 src)" $f)" ] \
        || fail "rtpvrawpay announced $f=$(caps_field "$c" $f), the \
receiver has $(caps_field "$(pad_caps recv udpsrc0 src)" $f)"
    done
    compare lossy src rx
    written=$(counter recv zerosink0 frames-written)
    [ "$written" = $((GOOD + DAMAGED)) ] || fail "zerosink wrote $written \
frames, the reader got $((GOOD + DAMAGED))"
    [ $((GOOD * 2)) -ge $FRAMES ] \
      || fail "only $GOOD of $FRAMES frames arrived intact over loopback"
    # The final reader has the source's format, size and rate.
    c_src=$(pad_caps src capsfilter0 src)
    c_rx=$(pad_caps rx zerosrc0 src)
    for f in format width height framerate; do
      [ "$(caps_field "$c_rx" $f)" = "$(caps_field "$c_src" $f)" ] \
        || fail "reader caps $f=$(caps_field "$c_rx" $f), source \
$(caps_field "$c_src" $f)"
    done
    echo "rtp: $GOOD of $FRAMES frames intact, $DAMAGED damaged by lost" \
      "packets, $LOST lost ($((LOST * 100 / FRAMES)) %)"
    assert_clean "$S"
    assert_clean "$T"
    ;;
esac

# A sanitizer report (ASan builds) in any process fails the test.
if grep -lE '^(==[0-9]+==ERROR: [A-Za-z]*Sanitizer|.*: runtime error: )' \
    "$WORK"/*.err >/dev/null 2>&1; then
  fail "a sanitizer reported an error"
fi
echo "ok: $VARIANT"
