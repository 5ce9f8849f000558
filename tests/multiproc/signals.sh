#!/bin/bash
# SIGINT/SIGTERM: the tool must close its side cleanly (the reader removes
# every object, the writer detaches so the reader sees end of stream) and
# exit 128 + signal within a bound (5 s times SCALE: a signal must never
# leave the tool hanging).
source "$(dirname "$0")/common.sh"

BOUND_MS=$((5000 * SCALE))
# Deadline of the waits that end in the bound's check.
WAIT_S=$((BOUND_MS / 1000 + 10))

# 1. Reader waiting for a writer that never comes (no --timeout).
new_name sig-idle
start idle "$ZB" read "$NAME" --payload-size 64K
IDLE=$PID
wait_line idle '^ready: ' 10 || fail "reader not ready"
assert_exists "$NAME"
kill -TERM "$IDLE"
T0=$(now_us)
wait_exit "$IDLE" $WAIT_S || fail "idle reader ignored SIGTERM"
[ "$RC" -eq 143 ] || fail "idle reader exit $RC, expected 143"
[ "$(ms_between "$T0" "$EXIT_US")" -le $BOUND_MS ] || fail "idle reader slow"
expect_err idle "interrupted by SIGTERM"
expect_one_err_line idle
expect_field idle end signal
assert_clean "$NAME"

# 2. SIGINT to a reader mid-stream that holds frames: it releases them,
#    closes, and the writer then reports the reader gone.
new_name sig-reader
start reader "$ZB" read "$NAME" --payload-size 64K --hold 8 \
  --verify sequential
READER=$PID
wait_line reader '^ready: ' 10 || fail "reader not ready"
start writer "$ZB" write "$NAME" --frames 1000000000 --sizes 1000,3000,17 \
  --pattern sequential --rate 5000
WRITER=$PID
wait_info "$NAME" payload_read_count 200 20 || fail "no frames flowing"
kill -INT "$READER"
T0=$(now_us)
wait_exit "$READER" $WAIT_S || fail "reader ignored SIGINT"
[ "$RC" -eq 130 ] || fail "reader exit $RC after SIGINT, expected 130"
[ "$(ms_between "$T0" "$EXIT_US")" -le $BOUND_MS ] || fail "reader slow on SIGINT"
expect_err reader "interrupted by SIGINT"
expect_field reader errors 0
expect_field reader end signal
assert_clean "$NAME"
wait_exit "$WRITER" 30 || fail "writer did not notice the reader left"
[ "$RC" -eq 1 ] || fail "writer exit $RC, expected 1"
expect_err writer "reader gone"

# 3. SIGTERM to a writer mid-stream: it detaches cleanly, so the reader gets
#    every frame written and a clean end of stream.
new_name sig-writer
start reader2 "$ZB" read "$NAME" --payload-size 64K --verify sequential \
  --sizes 1000,3000,17 --timeout 20
READER2=$PID
wait_line reader2 '^ready: ' 10 || fail "reader not ready"
start writer2 "$ZB" write "$NAME" --frames 1000000000 --sizes 1000,3000,17 \
  --pattern sequential --rate 5000
WRITER2=$PID
wait_info "$NAME" payload_read_count 200 20 || fail "no frames flowing"
kill -TERM "$WRITER2"
T0=$(now_us)
wait_exit "$WRITER2" $WAIT_S || fail "writer ignored SIGTERM"
[ "$RC" -eq 143 ] || fail "writer exit $RC after SIGTERM, expected 143"
[ "$(ms_between "$T0" "$EXIT_US")" -le $BOUND_MS ] || fail "writer slow on SIGTERM"
expect_err writer2 "interrupted by SIGTERM"
expect_field writer2 end signal
wait_exit "$READER2" 30 || fail "reader did not see end of stream"
[ "$RC" -eq 0 ] || fail "reader exit $RC after the writer left cleanly"
expect_field reader2 end eos
expect_field reader2 errors 0
expect_field reader2 frames "$(field writer2 frames)"
assert_clean "$NAME"
echo ok
