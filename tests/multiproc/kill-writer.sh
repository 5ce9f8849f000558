#!/bin/bash
# kill -9 of the writer mid-stream: the reader must report "writer gone"
# within 5 s, times SCALE (its own --timeout is 60 s, so only the library's
# liveness check can end it in time), every frame it got must verify, and
# once it exits no object of the buffer may remain.
source "$(dirname "$0")/common.sh"

BOUND_MS=$((5000 * SCALE))

new_name kill-writer
start reader "$ZB" read "$NAME" --payload-size 64K --verify sequential \
  --timeout 60
READER=$PID
wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"

start writer "$ZB" write "$NAME" --frames 1000000000 --sizes 4093,1,333 \
  --pattern sequential --timeout 60
WRITER=$PID
wait_line writer '^connected: ' 10 || fail "writer did not connect in 10 s"
wait_info "$NAME" payload_read_count 1000 10 || fail "no frames flowing"
kill -0 "$WRITER" 2>/dev/null || fail "writer ended before it was killed"

kill -9 "$WRITER"
T0=$(now_us)
wait_exit "$READER" 60 || fail "reader still running 60 s after the kill"
ms=$(ms_between "$T0" "$EXIT_US")
echo "reader noticed the dead writer and exited after $ms ms"
[ "$ms" -le "$BOUND_MS" ] || fail "reader took $ms ms (bound $BOUND_MS)"

[ "$RC" -ne 0 ] || fail "reader exited 0 after the writer died"
expect_err reader "writer gone"
expect_one_err_line reader
expect_field reader errors 0
expect_field reader end writer-gone
[ "$(field reader frames)" -ge 1000 ] || fail "reader saw too few frames"

wait "$WRITER" 2>/dev/null
assert_clean "$NAME"
echo "ok: $(grep ^summary "$WORK/reader.out")"
