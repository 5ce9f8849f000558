#!/bin/bash
# The launcher (zerobuffer-launch, the rocket-welder2 role) and URIs.
#   announce  two zerosrc readers with announce=true and a CLI reader with
#             --announce, their stdout piped into the launcher together
#             with garbage lines; the launcher
#             runs one writer pipeline per announce, both readers get every
#             frame (checksums equal a reference run), bad lines launch
#             nothing, everybody exits 0, nothing is left behind
#   restart   the same name announced twice: the first pipeline is
#             replaced; Ctrl-C (SIGINT) ends the running one with EOS
#   uri       uridecodebin uri=zerobuffer://NAME?... ! videoconvert !
#             checksumsink reads what a zerosink writes
#   playbin   the same through playbin uri=zerobuffer://NAME?...
#             (video-sink=checksumsink, video only)
VARIANT=${1:-announce}

# Our three system plugins plus playback and videoconvert for the URI
# variant (meson links them into a directory of their own).
if [ -n "${ZB_GST_REGISTRY_DIR:-}" ] \
    && [ -d "$ZB_GST_REGISTRY_DIR/gst-system-plugins-uri" ]; then
  export GST_PLUGIN_SYSTEM_PATH_1_0="$ZB_GST_REGISTRY_DIR/gst-system-plugins-uri"
fi
source "$(dirname "$0")/gst-common.sh"

: "${ZB_LAUNCH:?set ZB_LAUNCH to zerobuffer-launch (meson does)}"
LAUNCH_CMD=("${GST_RUN[@]}" "$ZB_LAUNCH")

FRAMES=30
CAPS="video/x-raw,format=RGB,width=64,height=48,framerate=30/1"
WRITER="videotestsrc num-buffers=$FRAMES pattern=ball ! $CAPS ! zerosink buffer-name={name} connect-timeout=10000"

# The hash column of checksumsink's lines in file $1 whose hash has $2
# hex digits (40: sha1, 64: sha256).
hashes () {
  sed -n "s/^[0-9:.]* \([0-9a-f]\{$2\}\)\$/\1/p" "$1"
}

# Reference checksums of the writer's frames, sha1 and sha256.
reference () {
  local h
  for h in sha1 sha256; do
    "${GST_LAUNCH_CMD[@]}" -q videotestsrc num-buffers=$FRAMES pattern=ball \
      ! "$CAPS" ! checksumsink hash=$h >"$WORK/ref-$h.txt" \
      2>"$WORK/ref-$h.err" || fail "reference pipeline failed"
  done
  [ "$(hashes "$WORK/ref-sha1.txt" 40 | wc -l)" -eq $FRAMES ] \
    || fail "reference gave $(hashes "$WORK/ref-sha1.txt" 40 | wc -l) frames"
}

# The launcher reading the fifo $WORK/in (open it for writing on fd 7
# afterwards), template $1; sets LPID.
start_launcher () {
  mkfifo "$WORK/in"
  "${LAUNCH_CMD[@]}" -- "$1" <"$WORK/in" >"$WORK/launch.out" \
    2>"$WORK/launch.err" &
  LPID=$!
  ALL_PIDS+=("$LPID")
  exec 7>"$WORK/in"
}

# wait_err REGEX SECONDS: the launcher's stderr has a line matching REGEX.
wait_err () {
  local deadline=$(( $(now_us) + $2 * 1000000 ))
  until grep -qE "$1" "$WORK/launch.err" 2>/dev/null; do
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.01
  done
}

case $VARIANT in
  announce)
    reference
    new_name launch-a
    A=$NAME
    new_name launch-b
    B=$NAME
    start_launcher "$WRITER"
    # Two readers whose stdout is the launcher's input (their checksum
    # lines pass through it: sha1 for A, sha256 for B, so they can be told
    # apart), and some noise on the same stream.
    "${GST_LAUNCH_CMD[@]}" -q zerosrc buffer-name="$A" announce=true \
      payload-size=4M writer-timeout=20000 ! checksumsink hash=sha1 >&7 \
      2>"$WORK/reader-a.err" &
    RA=$!
    ALL_PIDS+=("$RA")
    "${GST_LAUNCH_CMD[@]}" -q zerosrc buffer-name="$B" announce=true \
      payload-size=4M writer-timeout=20000 ! checksumsink hash=sha256 >&7 \
      2>"$WORK/reader-b.err" &
    RB=$!
    ALL_PIDS+=("$RB")
    # And the CLI reader, which checks the frame sizes and count.
    new_name launch-c
    C=$NAME
    "$ZB" read "$C" --announce --payload-size 4M --frames $FRAMES \
      --sizes $((64 * 48 * 3)) --timeout 20 >&7 2>"$WORK/reader-c.err" &
    RC_PID=$!
    ALL_PIDS+=("$RC_PID")
    {
      echo "hello from the reader's log"
      echo '> {not json'
      echo '> {"jsonrpc":"2.0","method":"stop-stream","params":["x"]}'
      echo '> {"jsonrpc":"2.0","method":"start-stream","params":["bad/name",1,2]}'
      echo '> {"jsonrpc":"2.0","method":"start-stream","params":["ok-name","; rm -rf /",2]}'
    } >&7
    exec 7>&-
    expect_exit "$RA" 60 0 "reader $A"
    expect_exit "$RB" 60 0 "reader $B"
    expect_exit "$RC_PID" 60 0 "CLI reader $C"
    wait_exit "$LPID" 60 || fail "the launcher did not end within 60 s"
    [ "$RC" -eq 0 ] || fail "the launcher exited $RC"
    grep -qF "> {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\",\"params\":[\"$C\",0,4194304]}" \
      "$WORK/launch.out" || fail "no announce of $C passed through"
    grep -q "^summary: frames=$FRAMES bytes=$((FRAMES * 64 * 48 * 3)) errors=0 .* end=frames$" \
      "$WORK/launch.out" || fail "the CLI reader did not get every frame"
    for n in "$A" "$B" "$C"; do
      [ "$n" = "$C" ] || grep -qF "> {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\",\"params\":[\"$n\",65536,4194304]}" \
        "$WORK/launch.out" || fail "no announce of $n passed through"
      grep -q "$n: pipeline ended: end of stream" "$WORK/launch.err" \
        || fail "the launcher did not say $n's pipeline ended"
    done
    [ "$(hashes "$WORK/launch.out" 40)" = "$(hashes "$WORK/ref-sha1.txt" 40)" ] \
      || fail "reader $A: frames differ from the reference"
    [ "$(hashes "$WORK/launch.out" 64)" = "$(hashes "$WORK/ref-sha256.txt" 64)" ] \
      || fail "reader $B: frames differ from the reference"
    grep -q "hello from the reader's log" "$WORK/launch.out" \
      || fail "a plain line was not passed through"
    grep -q "not JSON" "$WORK/launch.err" || fail "bad JSON not reported"
    grep -q 'unknown method "stop-stream"' "$WORK/launch.err" \
      || fail "unknown method not reported"
    grep -q 'invalid buffer name "bad/name"' "$WORK/launch.err" \
      || fail "invalid name not reported"
    grep -q 'param 1 is not a non-negative integer' "$WORK/launch.err" \
      || fail "a non-numeric param was not refused"
    grep -q '^zerobuffer launch: 3 launched, 3 ended well, 0 failed, 4 announce line(s) refused$' \
      "$WORK/launch.err" || fail "wrong launcher summary"
    assert_clean "$A"
    assert_clean "$B"
    assert_clean "$C"
    ;;
  restart)
    new_name launch-r
    line="> {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\",\"params\":[\"$NAME\",0,1]}"
    start_launcher \
      "videotestsrc is-live=true ! video/x-raw,width=32,height=32 ! fakesink name={name}"
    echo "$line" >&7
    wait_err "$NAME: launching" 20 || fail "first announce not launched"
    echo "$line" >&7
    wait_err "$NAME: announced again, restarting" 20 \
      || fail "second announce did not restart the pipeline"
    deadline=$(( $(now_us) + 20000000 ))
    until [ "$(grep -c "$NAME: launching" "$WORK/launch.err")" -eq 2 ]; do
      [ "$(now_us)" -lt "$deadline" ] || fail "expected two launches"
      sleep 0.01
    done
    kill -INT "$LPID"
    wait_exit "$LPID" $((10 * SCALE)) \
      || fail "the launcher did not stop within $((10 * SCALE)) s of SIGINT"
    [ "$RC" -eq 0 ] || fail "the launcher exited $RC after SIGINT"
    grep -q "$NAME: pipeline ended: end of stream" "$WORK/launch.err" \
      || fail "the running pipeline did not end with EOS"
    grep -q '^zerobuffer launch: 2 launched, 1 ended well, 0 failed' \
      "$WORK/launch.err" || fail "wrong launcher summary"
    exec 7>&-
    ;;
  uri|playbin)
    for f in uridecodebin videoconvert playbin videoscale; do
      "${GST_INSPECT_CMD[@]}" --exists "$f" \
        || { echo "SKIP: system element $f is not installed"; exit 77; }
    done
    reference
    new_name uri
    URI="zerobuffer://$NAME?payload-size=4M&writer-timeout=20000"
    if [ "$VARIANT" = playbin ]; then
      start reader "${GST_LAUNCH_CMD[@]}" -q playbin "uri=$URI" flags=video \
        video-sink=checksumsink
    else
      start reader "${GST_LAUNCH_CMD[@]}" -q uridecodebin "uri=$URI" \
        ! videoconvert ! checksumsink
    fi
    READER=$PID
    # The reader made the buffer: then the writer.
    deadline=$(( $(now_us) + 10000000 ))
    until [ -e "/dev/shm/$NAME" ] && "$ZB" info "$NAME" >/dev/null 2>&1; do
      [ "$(now_us)" -lt "$deadline" ] || fail "the uridecodebin reader did not create $NAME"
      sleep 0.01
    done
    start writer "${GST_LAUNCH_CMD[@]}" -q videotestsrc num-buffers=$FRAMES \
      pattern=ball ! "$CAPS" ! zerosink "buffer-name=$NAME"
    WPID=$PID
    expect_exit "$WPID" 60 0 "zerosink pipeline"
    expect_exit "$READER" 60 0 "$VARIANT pipeline"
    [ "$(hashes "$WORK/reader.out" 40)" = "$(hashes "$WORK/ref-sha1.txt" 40)" ] \
      || fail "frames read through the URI differ from the reference"
    assert_clean "$NAME"
    ;;
  *) fail "unknown variant $VARIANT" ;;
esac
echo "PASS: $TEST $VARIANT"
