#!/bin/bash
# kill -9 of the gst-launch reader (zerosrc) mid-stream.  zerosink has
# write-timeout=-1, so only the library's liveness check can notice.
# Variant:
#   error      zerosink writes as fast as it can, so it mostly waits on a
#              full ring; within 5 s (times SCALE, as every bound here)
#              gst-launch must exit non-zero with an error naming the
#              buffer.  The writer, as the survivor,
#              removes the dead reader's objects, so nothing is left; a new
#              reader must then take the name at once and a new stream must
#              go through it.
#   reconnect  (on-reader-lost=reconnect) zerosink waits for a new reader on
#              the same name and goes on: the new reader (the tool) gets the
#              metadata again and exactly the frames written after the
#              reconnect, the first of them within 5 s; upstream gets a new
#              ring pool (frames written in place again), and both exit 0.
VARIANT=${1:-error}
source "$(dirname "$0")/gst-common.sh"

BOUND_MS=$((5000 * SCALE))
CAPS="video/x-raw,format=RGB,width=320,height=240"
SIZE=$((320 * 240 * 3))
FRAMES=1500

[ "$VARIANT" = error ] || [ "$VARIANT" = reconnect ] \
  || fail "unknown variant $VARIANT"

new_name "gst-kill-reader-$VARIANT"
gst_start rx zerosrc buffer-name="$NAME" payload-size=2M ! fakesink sync=false
RX=$PID
wait_shm "$NAME" "$RX" 10 || fail "zerosrc did not create /dev/shm/$NAME"

if [ "$VARIANT" = reconnect ]; then
  # LOG level: every write and how it went, and the reconnect warning.
  # Paced at 500 frames/s (sync=true), so the stream is still running when
  # the first reader is killed, however fast or slow the machine is.
  gst_start_env tx GST_DEBUG=zerosink:6 -- videotestsrc num-buffers=$FRAMES \
    ! "$CAPS,framerate=500/1" ! zerosink buffer-name="$NAME" sync=true \
    on-reader-lost=reconnect connect-timeout=30000
  TX=$PID
  wait_info "$NAME" payload_read_count 100 20 || fail "no frames flowing"
  kill -0 "$RX" 2>/dev/null || fail "reader ended before it was killed"
  kill -9 "$RX"
  T0=$(now_us)
  wait_exit "$RX" 10 || fail "SIGKILLed reader still there"
  kill -0 "$TX" 2>/dev/null || fail "zerosink exited instead of waiting"
  start reader2 "$ZB" read "$NAME" --payload-size 4M --metadata-size 4K \
    --timeout 30
  READER2=$PID
  # Only once it is ready does the name mean the new buffer (the dead
  # reader's may still be there, with its counts, until someone removes it).
  wait_line reader2 '^ready: ' 30 || fail "new reader not ready in 30 s"
  wait_info "$NAME" payload_read_count 1 30 || fail "no frame after reconnect"
  ms=$(ms_between "$T0" "$(now_us)")
  echo "first frame through the new reader $ms ms after the kill"
  [ "$ms" -le "$BOUND_MS" ] || fail "reconnect took $ms ms (bound $BOUND_MS)"
  expect_exit "$TX" 60 0 "zerosink pipeline"
  expect_exit "$READER2" 30 0 "new reader"
  expect_no_error tx
  expect_log tx '^Got EOS from element "pipeline0"'
  expect_field reader2 end eos
  expect_field reader2 errors 0
  grep -q '^metadata: {"type":"gstreamer-sink",' "$WORK/reader2.out" \
    || fail "no metadata for the new reader"
  # Writes after the reconnect warning went to the new reader, all of them.
  # (zerosink's LOG lines, counted after gst-launch exited: no counter
  # tells the writes before the reconnect from those after it.)
  awk -v name="$NAME" '
    BEGIN { after = 0; n[0] = 0; n[1] = 0; inplace = 0 }
    index($0, "reader of \"" name "\" is gone, waiting") { after = 1 }
    / wrote [0-9]+ bytes (in place|by copy)/ { n[after]++ }
    after && / wrote [0-9]+ bytes in place/ { inplace++ }
    END { printf "%d %d %d\n", n[0], n[1], inplace }' "$WORK/tx.err" \
    >"$WORK/counts"
  read -r before after inplace <"$WORK/counts"
  echo "frames written: $before to the killed reader, $after to the new" \
    "one ($inplace in place)"
  [ $((before + after)) -eq $FRAMES ] || fail "zerosink wrote \
$((before + after)) frames, expected $FRAMES"
  expect_field reader2 frames "$after"
  expect_field reader2 bytes $((after * SIZE))
  [ "$inplace" -gt 0 ] || fail "no ring pool after the reconnect"
  assert_clean "$NAME"
  echo "ok: reader killed, zerosink reconnected to a new reader"
  exit 0
fi

gst_start tx videotestsrc ! "$CAPS" ! zerosink buffer-name="$NAME" sync=false
TX=$PID
wait_info "$NAME" payload_read_count 100 20 || fail "no frames flowing"
kill -0 "$RX" 2>/dev/null || fail "reader ended before it was killed"

kill -9 "$RX"
T0=$(now_us)
wait_exit "$TX" 60 || fail "zerosink still running 60 s after the kill"
ms=$(ms_between "$T0" "$EXIT_US")
echo "zerosink noticed the dead reader; gst-launch exited after $ms ms"
[ "$ms" -le "$BOUND_MS" ] || fail "zerosink took $ms ms (bound $BOUND_MS)"
[ "$RC" -ne 0 ] || fail "gst-launch exited 0 after the reader died"
expect_msg tx ERROR zerosink0 "The reader of buffer \"$NAME\" is gone"
wait "$RX" 2>/dev/null

assert_clean "$NAME"

# The name is free at once: a new reader creates it and a stream goes
# through.
T0=$(now_us)
start reader2 "$ZB" read "$NAME" --payload-size 64K --verify sequential \
  --timeout 30
READER2=$PID
wait_line reader2 '^ready: ' $((BOUND_MS / 1000)) \
  || fail "new reader not ready in $((BOUND_MS / 1000)) s"
echo "new reader created the name $(ms_between "$T0" "$(now_us)") ms later"
start writer2 "$ZB" write "$NAME" --frames 1000 --size 1000 \
  --pattern sequential --timeout 30
WRITER2=$PID
expect_exit "$WRITER2" 60 0 "second writer"
expect_exit "$READER2" 30 0 "second reader"
expect_field reader2 frames 1000
expect_field reader2 errors 0
expect_field reader2 end eos

assert_clean "$NAME"
echo "ok: reader killed, zerosink failed within $ms ms, name reused"
