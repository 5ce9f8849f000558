#!/bin/bash
# kill -9 of the gst-launch writer (zerosink) mid-stream.  zerosrc has no
# writer-timeout, so only the library's liveness check can end it: within
# 5 s (times SCALE) it must
#   error  post "Writer of buffer "N" died" and gst-launch exit non-zero
#   eos    (on-writer-crash=eos) warn, push EOS, and gst-launch exit 0
# and in both cases remove every object of the buffer, lock file included.
VARIANT=${1:-error}
source "$(dirname "$0")/gst-common.sh"

BOUND_MS=$((5000 * SCALE))
CAPS="video/x-raw,format=RGB,width=320,height=240"

case $VARIANT in
  error) src_opts=() ;;
  eos) src_opts=(on-writer-crash=eos) ;;
  *) fail "unknown variant $VARIANT" ;;
esac

new_name "gst-kill-writer-$VARIANT"
gst_start rx zerosrc buffer-name="$NAME" "${src_opts[@]}" ! fakesink sync=false
RX=$PID
wait_shm "$NAME" "$RX" 10 || fail "zerosrc did not create /dev/shm/$NAME"

gst_start tx videotestsrc ! "$CAPS" ! zerosink buffer-name="$NAME" sync=false
TX=$PID
wait_info "$NAME" payload_read_count 100 20 || fail "no frames flowing"
kill -0 "$TX" 2>/dev/null || fail "writer ended before it was killed"

kill -9 "$TX"
T0=$(now_us)
wait_exit "$RX" 60 || fail "zerosrc still running 60 s after the kill"
ms=$(ms_between "$T0" "$EXIT_US")
echo "zerosrc noticed the dead writer; gst-launch exited after $ms ms"
[ "$ms" -le "$BOUND_MS" ] || fail "zerosrc took $ms ms (bound $BOUND_MS)"

if [ "$VARIANT" = error ]; then
  [ "$RC" -ne 0 ] || fail "gst-launch exited 0 after the writer died"
  expect_msg rx ERROR zerosrc0 "Writer of buffer \"$NAME\" died"
else
  [ "$RC" -eq 0 ] || fail "gst-launch exited $RC with on-writer-crash=eos"
  expect_no_error rx
  expect_msg rx WARNING zerosrc0 "Writer of buffer \"$NAME\" died"
  expect_log rx '^Got EOS from element "pipeline0"'
fi

wait "$TX" 2>/dev/null
assert_clean "$NAME"
echo "ok: writer killed, zerosrc ended within $ms ms ($VARIANT)"
