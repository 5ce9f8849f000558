#!/bin/bash
# Error paths through the tool: each must fail with a non-zero status, one
# reason line naming the problem, within its bound, and leave nothing behind.
source "$(dirname "$0")/common.sh"

# The bound for failing "at once" or soon after a short --timeout: 5 s,
# times SCALE.  LONG_S is a --timeout that such a failure is told apart
# from; `run` kills a command only well after that.
BOUND_MS=$((5000 * SCALE))
LONG_S=$((15 * SCALE))

# run LOG -- CMD...: run CMD in the foreground (bounded by `timeout`), set RC
# and ELAPSED_MS.
run () {
  local log=$1 t0
  shift
  t0=$(now_us)
  timeout -s KILL $((LONG_S + 30)) "$@" >"$WORK/$log.out" 2>"$WORK/$log.err"
  RC=$?
  ELAPSED_MS=$(ms_between "$t0" "$(now_us)")
}

# 1. A writer with no buffer gives up after --timeout with "no such buffer".
new_name nobuf
run nobuf "$ZB" write "$NAME" --frames 1 --size 10 --timeout 1
[ "$RC" -ne 0 ] && [ "$RC" -ne 137 ] || fail "writer without buffer: exit $RC"
expect_err nobuf "no such buffer"
expect_one_err_line nobuf
[ "$ELAPSED_MS" -ge 900 ] || fail "writer gave up after $ELAPSED_MS ms, before --timeout 1"
[ "$ELAPSED_MS" -le "$BOUND_MS" ] \
  || fail "writer took $ELAPSED_MS ms for --timeout 1"
echo "no buffer: failed after $ELAPSED_MS ms (--timeout 1)"
assert_clean "$NAME"

# 2. Bad names are refused by every command and create nothing anywhere.
TAG="zbbad-$$"
long=$(printf 'x%.0s' $(seq 1 200))
bad_names=("../$TAG" "$TAG/b" ".$TAG" "$TAG name" "" "${TAG}${long}")
i=0
for bad in "${bad_names[@]}"; do
  i=$((i + 1))
  run badr$i "$ZB" read "$bad" --payload-size 4K --timeout 1
  [ "$RC" -ne 0 ] && [ "$RC" -ne 137 ] || fail "reader accepted name '$bad'"
  expect_err badr$i "invalid buffer name"
  expect_one_err_line badr$i
  grep -q '^ready:' "$WORK/badr$i.out" && fail "reader got ready on '$bad'"
  run badw$i "$ZB" write "$bad" --frames 1 --size 1 --timeout "$LONG_S"
  [ "$RC" -ne 0 ] && [ "$RC" -ne 137 ] || fail "writer accepted name '$bad'"
  expect_err badw$i "invalid buffer name"
  [ "$ELAPSED_MS" -lt "$BOUND_MS" ] \
    || fail "writer waited $ELAPSED_MS ms on bad name '$bad'"
  run badi$i "$ZB" info "$bad"
  [ "$RC" -ne 0 ] || fail "info accepted name '$bad'"
  expect_err badi$i "invalid buffer name"
done
left=$(find /dev/shm /tmp /tmp/zerobuffer /dev /etc -maxdepth 2 -name "*$TAG*" \
  2>/dev/null)
[ -z "$left" ] || fail "bad names created: $left"
echo "bad names: all ${#bad_names[@]} refused, nothing created"

# The longest legal name (200 bytes) works end to end.
NAME="zbmp-long-$$-"
NAME="$NAME$(printf 'y%.0s' $(seq 1 $((200 - ${#NAME}))))"
ALL_NAMES+=("$NAME")
start longr "$ZB" read "$NAME" --payload-size 4K --verify sequential \
  --timeout 20
LONGR=$PID
wait_line longr '^ready: ' 10 || fail "200-byte name refused"
run longw "$ZB" write "$NAME" --frames 10 --size 100 --pattern sequential \
  --timeout 10
[ "$RC" -eq 0 ] || fail "writer on a 200-byte name exited $RC"
wait_exit "$LONGR" 10 || fail "reader on a 200-byte name still running"
[ "$RC" -eq 0 ] || fail "reader on a 200-byte name exited $RC"
expect_field longr frames 10
assert_clean "$NAME"

# 3. A second reader on a live name is refused; the first is unharmed.
new_name twice
start first "$ZB" read "$NAME" --payload-size 4K --verify sequential \
  --timeout 20
FIRST=$PID
wait_line first '^ready: ' 10 || fail "first reader not ready"
run second "$ZB" read "$NAME" --payload-size 4K --timeout 1
[ "$RC" -ne 0 ] && [ "$RC" -ne 137 ] || fail "second reader exit $RC"
expect_err second "already owns"
expect_one_err_line second
grep -q '^ready:' "$WORK/second.out" && fail "second reader got ready"
assert_exists "$NAME"
run firstw "$ZB" write "$NAME" --frames 100 --size 1000 --pattern sequential \
  --timeout 10
[ "$RC" -eq 0 ] || fail "writer to the first reader exited $RC"
wait_exit "$FIRST" 10 || fail "first reader still running"
[ "$RC" -eq 0 ] || fail "first reader exited $RC"
expect_field first frames 100
expect_field first errors 0
assert_clean "$NAME"
echo "second reader: refused, first reader unharmed"

# 4. A frame larger than the ring can hold fails at once, not after the
#    timeout.  A 4 KiB ring takes at most (4096 - 15) / 2 - 16 = 2024 bytes
#    per frame: 2024 goes through, 2025 does not.
new_name toolarge
start bigr "$ZB" read "$NAME" --payload-size 4K --verify sequential \
  --timeout 20
BIGR=$PID
wait_line bigr '^ready: ' 10 || fail "reader not ready"
run bigw "$ZB" write "$NAME" --frames 2 --sizes 2024,2025 \
  --pattern sequential --timeout "$LONG_S"
[ "$RC" -ne 0 ] && [ "$RC" -ne 137 ] || fail "oversized frame: exit $RC"
grep -q 'max_frame=2024$' "$WORK/bigw.out" || fail "max_frame is not 2024"
expect_err bigw "cannot be placed"
expect_err bigw "at frame 1 "
expect_one_err_line bigw
[ "$ELAPSED_MS" -lt "$BOUND_MS" ] || fail "oversized frame took $ELAPSED_MS ms"
wait_exit "$BIGR" 10 || fail "reader still running"
[ "$RC" -eq 0 ] || fail "reader exited $RC"
expect_field bigr frames 1
expect_field bigr errors 0
assert_clean "$NAME"
echo "oversized frame: refused after $ELAPSED_MS ms"

# 5. A reader whose writer never comes gives up after --timeout, cleanly.
new_name nowriter
run nowriter "$ZB" read "$NAME" --payload-size 4K --timeout 0.5
[ "$RC" -ne 0 ] && [ "$RC" -ne 137 ] || fail "reader without writer: exit $RC"
expect_err nowriter "timed out"
expect_one_err_line nowriter
grep -q '^ready:' "$WORK/nowriter.out" || fail "reader never got ready"
[ "$ELAPSED_MS" -ge 450 ] && [ "$ELAPSED_MS" -le "$BOUND_MS" ] \
  || fail "reader timed out after $ELAPSED_MS ms for --timeout 0.5"
expect_field nowriter end timeout
assert_clean "$NAME"

# 6. The reader's --frames is exact: fewer frames then end of stream fails.
new_name short
start shortr "$ZB" read "$NAME" --payload-size 4K --frames 5 --timeout 20
SHORTR=$PID
wait_line shortr '^ready: ' 10 || fail "reader not ready"
run shortw "$ZB" write "$NAME" --frames 3 --size 10 --timeout 10
[ "$RC" -eq 0 ] || fail "writer exited $RC"
wait_exit "$SHORTR" 10 || fail "reader still running"
[ "$RC" -ne 0 ] || fail "reader exited 0 with 3 of 5 frames"
expect_err shortr "after 3 of 5 frames"
assert_clean "$NAME"

# 7. Usage errors are reported as such.
run usage1 "$ZB" read "zbmp-usage-$$"
[ "$RC" -eq 2 ] || fail "read without --payload-size: exit $RC, expected 2"
run usage2 "$ZB" write "zbmp-usage-$$" --frames 1 --size 12Q
[ "$RC" -eq 2 ] || fail "bad size: exit $RC, expected 2"
run help "$ZB" --help
[ "$RC" -eq 0 ] && grep -q '^usage: zerobuffer' "$WORK/help.out" \
  || fail "--help"

echo "ok"
