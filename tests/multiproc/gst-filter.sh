#!/bin/bash
# zerofilter in a gst-launch process against a `zerobuffer serve` duplex
# server in another.  The stream is teed: one branch goes into a reference
# file, the other through zerofilter into an output file, so both hold the
# same frames of one run; gst-filter-compare.py then checks every output
# frame is the server's answer (the inversion) to an input frame, in order.
# Scenario (first argument):
#   invert        300 frames of 640x480 RGB through an invert server come
#                 back inverted byte for byte, in order, then EOS; both
#                 processes exit 0; the counters and the server agree
#   odd-sizes     rows that are not a multiple of 4 bytes (RGB 321x7,
#                 RGB 333x17 with max-in-flight=4, GRAY8 13x9): the wire
#                 is tightly packed, GStreamer's rows are padded; the row
#                 bytes round-trip
#   in-flight     max-in-flight=4 against a server taking 2 ms a frame:
#                 300 answers, in order
#   kill-server   kill -9 of the server mid-stream, while zerofilter waits
#                 for an answer: within 5 s (times SCALE) gst-launch exits
#                 non-zero with an error naming the channel; nothing of it
#                 is left
#   kill-server-idle  the same while zerofilter waits for its next input
#                 frame (a live source)
#   no-server     no server: connect-timeout=500 ends in "No duplex server
#                 for channel" within 5 s (times SCALE), not before 500 ms
#   reconnect     on-server-lost=reconnect: server A crashes after 50
#                 answers, a new server B takes the channel, the stream
#                 goes on to EOS (exit 0); only the frame in flight at the
#                 crash is lost, every other one comes back in order
#   reconnect-window  the same with max-in-flight=4 and a server A that
#                 takes 20 ms a frame: at most the 4 frames in flight at the
#                 crash are lost
VARIANT=${1:-invert}
source "$(dirname "$0")/gst-common.sh"

BOUND_MS=$((5000 * SCALE))
COMPARE=$(dirname "$0")/gst-filter-compare.py
HANDLER=invert

command -v python3 >/dev/null \
  || { echo "SKIP: python3 is not installed"; exit 77; }
"${GST_INSPECT_CMD[@]}" zerofilter >/dev/null 2>&1 \
  || fail "gst-inspect-1.0 cannot find zerofilter in $GST_PLUGIN_PATH_1_0"
for f in tee queue filesink; do
  "${GST_INSPECT_CMD[@]}" --exists "$f" \
    || { echo "SKIP: system element $f is not installed"; exit 77; }
done

# channel TAG: a fresh channel name in NAME; its two buffers are cleaned
# up by the EXIT trap whatever happens.
channel () {
  new_name "gst-filter-$1"
  ALL_NAMES+=("${NAME}_request" "${NAME}_response")
}

# serve_start LOG ARGS...: a server on $NAME; waits for its ready line.
serve_start () {
  local log=$1
  shift
  start "$log" "$ZB" serve "$NAME" --timeout 60 "$@"
  SERVER=$PID
  wait_line "$log" '^ready: ' 20 || fail "$log: not ready in 20 s"
}

# end_field LOG KEY: KEY=... on the server's last "end:" line.
end_field () {
  sed -n "s/^end:.* $2=\([^ ]*\).*/\1/p" "$WORK/$1.out" | tail -n 1
}

# counter LOG PROP: the last value gst-launch -v printed for one of
# zerofilter0's counters (notified at EOS, frames-dropped also at once).
counter () {
  sed -n "s|^/GstPipeline:pipeline0/GstZeroFilter:zerofilter0: $2 = \
\([0-9]*\)\$|\1|p" "$WORK/$1.out" | tail -n 1
}

expect_counter () {
  local v
  v=$(counter "$1" "$2")
  [ "$v" = "$3" ] || fail "$1: $2 = '$v', expected $3"
}

# channel_clean: none of the channel's objects is left.
channel_clean () {
  assert_clean "${NAME}_request"
  assert_clean "${NAME}_response"
}

# Frame files, out of fail's way (it prints every log in $WORK).
FRAMES_DIR=$WORK/frames
mkdir -p "$FRAMES_DIR"

# tee_start LOG CAPS FRAMES FILTER-PROPS...: gst-launch -v, FRAMES frames
# of CAPS teed into $FRAMES_DIR/LOG.ref and, through zerofilter on $NAME,
# into $FRAMES_DIR/LOG.raw.
tee_start () {
  local log=$1 caps=$2 frames=$3 pattern=ball
  shift 3
  # The ball is small: at a few rows, frames would repeat.
  case $caps in *height=[0-9],*|*height=[0-9]) pattern=snow ;; esac
  gst_start "$log" -v videotestsrc num-buffers="$frames" pattern=$pattern \
    ! "$caps" ! tee name=t \
    ! queue ! filesink location="$FRAMES_DIR/$log.ref" \
    t. ! queue ! zerofilter channel-name="$NAME" "$@" \
    ! filesink location="$FRAMES_DIR/$log.raw"
  GST=$PID
}

# compare LOG STRIDE ROW_BYTES ROWS: sets CMP_OUT, CMP_GAPS (and the rest
# of the compare line in CMP); fails when an output frame is not an
# inverted input frame in order.  The frame files are removed.
compare () {
  local log=$1
  python3 "$COMPARE" "$FRAMES_DIR/$log.ref" "$FRAMES_DIR/$log.raw" \
    "$2" "$3" "$4" \
    >"$WORK/$log.cmp" 2>&1 || fail "$log: $(cat "$WORK/$log.cmp")"
  rm -f "$FRAMES_DIR/$log.ref" "$FRAMES_DIR/$log.raw"
  CMP=$(cat "$WORK/$log.cmp")
  echo "$log: $CMP"
  CMP_OUT=$(sed -n 's/.* out=\([0-9]*\).*/\1/p' <<<"$CMP")
  CMP_GAPS=$(sed -n 's/.* gaps=\([^ ]*\).*/\1/p' <<<"$CMP")
}

# expect_exact LOG FRAMES: every one of FRAMES frames came back inverted.
expect_exact () {
  [ "$CMP" = "compare: ref=$2 out=$2 distinct=$2 matched=$2 gaps=none" ] \
    || fail "$1: expected all $2 (distinct) frames back in order: $CMP"
}

# one_stream LOG CAPS FRAMES STRIDE ROW_BYTES ROWS [FILTER-PROPS...]: a
# server and a pipeline; FRAMES frames come back inverted, in order; both
# exit 0; the counters and the server say FRAMES.
one_stream () {
  local log=$1 caps=$2 frames=$3 stride=$4 row=$5 rows=$6
  shift 6
  channel "$VARIANT"
  serve_start "$log-server" --handler "$HANDLER" \
    --payload-size 16M
  tee_start "$log" "$caps" "$frames" "$@"
  expect_exit "$GST" 120 0 "$log pipeline"
  expect_exit "$SERVER" 30 0 "$log server"
  expect_no_error "$log"
  expect_log "$log" '^Got EOS from element "pipeline0"'
  # The server read the caps zerofilter wrote, once, when it attached.
  grep -q '^metadata: {"type":"gstreamer-filter",.*"caps":"video/x-raw, ' \
    "$WORK/$log-server.out" || fail "$log-server: no caps in the metadata"
  [ "$(end_field "$log-server" reason)" = eos ] \
    || fail "$log-server: session did not end in eos"
  [ "$(end_field "$log-server" requests)" = "$frames" ] \
    || fail "$log-server: $(end_field "$log-server" requests) requests"
  [ "$(end_field "$log-server" responses)" = "$frames" ] \
    || fail "$log-server: $(end_field "$log-server" responses) responses"
  expect_counter "$log" frames-sent "$frames"
  expect_counter "$log" frames-answered "$frames"
  expect_counter "$log" frames-dropped 0
  expect_counter "$log" frames-late 0
  compare "$log" "$stride" "$row" "$rows"
  expect_exact "$log" "$frames"
  channel_clean
}

# reconnect IN_FLIGHT: server A crashes after 50 answers, server B takes
# over; the stream goes on.
reconnect () {
  local n=$1 a_after=50 frames=300 slow='' b first lost
  # A slow server A: the window is full when it crashes.
  [ "$n" -gt 1 ] && slow=,delay=20
  channel "$VARIANT"
  serve_start serverA --handler invert$slow,crash-after=$a_after \
    --payload-size 16M
  tee_start rc "video/x-raw,format=RGB,width=640,height=480" $frames \
    max-in-flight="$n" on-server-lost=reconnect connect-timeout=30000
  wait_exit "$SERVER" 60 || fail "server A did not crash"
  [ "$RC" -eq 3 ] || fail "server A exited $RC, not its crash status 3"
  grep -q "^crash: $NAME after $a_after responses" "$WORK/serverA.out" \
    || fail "server A did not say crash"
  kill -0 "$GST" 2>/dev/null || { wait_exit "$GST" 1;
    fail "pipeline exited ($RC) when server A crashed"; }
  # A new process on the same channel (A's objects may still be there).
  serve_start serverB --handler invert --payload-size 16M
  expect_exit "$GST" 120 0 "pipeline"
  expect_exit "$SERVER" 30 0 "server B"
  expect_no_error rc
  expect_log rc '^Got EOS from element "pipeline0"'
  grep -q '^metadata: {"type":"gstreamer-filter",' "$WORK/serverB.out" \
    || fail "server B got no metadata"
  b=$(end_field serverB responses)
  [ -n "$b" ] && [ "$b" -gt 0 ] || fail "server B answered '$b' requests"
  [ "$(end_field serverB requests)" = "$b" ] || fail "server B: requests \
$(end_field serverB requests), responses $b"
  [ "$(end_field serverB reason)" = eos ] || fail "server B did not see eos"

  compare rc 1920 1920 480
  # A's 50 answers, then one run of lost frames (those in flight at the
  # crash, at most the window), then B's answers up to the last frame.
  [ "$CMP_OUT" -eq $((a_after + b)) ] \
    || fail "$CMP_OUT frames out, expected $a_after from A + $b from B"
  first=${CMP_GAPS%+*}
  lost=${CMP_GAPS#*+}
  [ "$first" = $a_after ] && [ -n "$lost" ] && [ "$lost" -ge 1 ] \
    && [ "$lost" -le "$n" ] \
    || fail "expected one gap of 1..$n frames at frame $a_after: $CMP"
  expect_counter rc frames-sent $frames
  expect_counter rc frames-answered "$CMP_OUT"
  expect_counter rc frames-dropped "$lost"
  echo "server A answered $a_after, $lost lost at the crash, server B" \
    "answered $b"
  channel_clean
}

case $VARIANT in
  invert)
    one_stream inv "video/x-raw,format=RGB,width=640,height=480" 300 \
      1920 1920 480
    ;;

  odd-sizes)
    # Default strides: 321 * 3 = 963 -> 964, 333 * 3 = 999 -> 1000,
    # 13 -> 16.
    one_stream rgb321 "video/x-raw,format=RGB,width=321,height=7" 100 \
      964 963 7
    one_stream rgb333 "video/x-raw,format=RGB,width=333,height=17" 100 \
      1000 999 17 max-in-flight=4
    one_stream gray13 "video/x-raw,format=GRAY8,width=13,height=9" 100 \
      16 13 9
    ;;

  in-flight)
    HANDLER=invert,delay=2
    one_stream win "video/x-raw,format=RGB,width=640,height=480" 300 \
      1920 1920 480 max-in-flight=4
    ;;

  kill-server|kill-server-idle)
    # kill-server: a server taking 20 ms a frame and an unpaced stream,
    # so zerofilter is waiting for an answer when the server dies.
    # kill-server-idle: a fast server and a live 30 fps source, so it is
    # mostly waiting for its next input frame.
    if [ "$VARIANT" = kill-server ]; then
      handler=invert,delay=20 src=(videotestsrc num-buffers=1000000)
    else
      handler=invert src=(videotestsrc is-live=true)
    fi
    channel kill
    serve_start server --handler $handler --payload-size 16M
    gst_start kill "${src[@]}" pattern=ball \
      ! "video/x-raw,format=RGB,width=640,height=480,framerate=30/1" \
      ! zerofilter channel-name="$NAME" ! fakesink sync=false
    GST=$PID
    wait_info "${NAME}_request" payload_read_count 20 30 \
      || fail "no requests reaching the server"
    kill -0 "$GST" 2>/dev/null || fail "pipeline ended before the kill"
    kill -9 "$SERVER"
    T0=$(now_us)
    wait_exit "$GST" 60 || fail "pipeline still running 60 s after the kill"
    ms=$(ms_between "$T0" "$EXIT_US")
    echo "zerofilter noticed the dead server; gst-launch exited after $ms ms"
    [ "$ms" -le "$BOUND_MS" ] || fail "took $ms ms (bound $BOUND_MS)"
    # 1 is gst-launch's status for an error; a crash would be 128 + signal.
    [ "$RC" -eq 1 ] || fail "gst-launch exited $RC after the server died"
    expect_msg kill ERROR zerofilter0 \
      "The duplex server of channel \"$NAME\" is gone"
    wait "$SERVER" 2>/dev/null
    # zerofilter removed NAME_response, and as the survivor the dead
    # server's NAME_request.
    channel_clean
    ;;

  no-server)
    channel none
    T0=$(now_us)
    gst_start none videotestsrc num-buffers=10 \
      ! "video/x-raw,format=RGB,width=64,height=48" \
      ! zerofilter channel-name="$NAME" connect-timeout=500 ! fakesink
    expect_exit "$PID" 60 1 "pipeline without a server"
    ms=$(ms_between "$T0" "$EXIT_US")
    echo "gst-launch gave up after $ms ms"
    [ "$ms" -ge 500 ] || fail "gave up after $ms ms, before connect-timeout"
    [ "$ms" -le "$BOUND_MS" ] || fail "took $ms ms (bound $BOUND_MS)"
    expect_msg none ERROR zerofilter0 \
      "No duplex server for channel \"$NAME\": ${NAME}_request did not \
appear within 500 ms"
    channel_clean
    ;;

  reconnect) reconnect 1 ;;
  reconnect-window) reconnect 4 ;;

  *) fail "unknown variant $VARIANT" ;;
esac
# A sanitizer report (ASan builds) in any process fails the test, also
# where a non-zero exit was expected.
if grep -lE '^(==[0-9]+==ERROR: [A-Za-z]*Sanitizer|.*: runtime error: )' \
    "$WORK"/*.err >/dev/null 2>&1; then
  fail "a sanitizer reported an error"
fi
echo "ok: $VARIANT"
