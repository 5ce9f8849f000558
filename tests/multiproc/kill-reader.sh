#!/bin/bash
# kill -9 of the reader mid-stream: the writer must report "reader gone"
# within 5 s (times SCALE, as every bound here).  A new reader must take the
# name over at once (within the same bound), a new writer must stream
# through it, and after that reader closes nothing may remain.
# Then the same with a reader killed while no writer is attached, so its
# objects are certainly left behind and the new reader's stale cleanup is
# what makes the name usable again.
source "$(dirname "$0")/common.sh"

BOUND_MS=$((5000 * SCALE))
SIZES=1021,17,4093

new_name kill-reader
start reader1 "$ZB" read "$NAME" --payload-size 64K --verify sequential \
  --timeout 60
READER1=$PID
wait_line reader1 '^ready: ' 10 || fail "reader not ready in 10 s"

start writer1 "$ZB" write "$NAME" --frames 1000000000 --sizes "$SIZES" \
  --pattern sequential --timeout 60
WRITER1=$PID
wait_line writer1 '^connected: ' 10 || fail "writer did not connect in 10 s"
wait_info "$NAME" payload_read_count 1000 10 || fail "no frames flowing"

kill -9 "$READER1"
T0=$(now_us)
wait_exit "$WRITER1" 60 || fail "writer still running 60 s after the kill"
ms=$(ms_between "$T0" "$EXIT_US")
echo "writer noticed the dead reader and exited after $ms ms"
[ "$ms" -le "$BOUND_MS" ] || fail "writer took $ms ms (bound $BOUND_MS)"
[ "$RC" -ne 0 ] || fail "writer exited 0 after the reader died"
expect_err writer1 "reader gone"
expect_one_err_line writer1
expect_field writer1 end reader-gone
wait "$READER1" 2>/dev/null

# The writer, as survivor, may already have removed the dead reader's
# objects (the library does so when it can take the lock file); whatever is
# left, a new reader must take the name over at once.
if [ -e "/dev/shm/$NAME" ]; then
  echo "the dead reader's objects are still there"
else
  assert_clean "$NAME"
  echo "the writer removed the dead reader's objects"
fi
T0=$(now_us)
start reader2 "$ZB" read "$NAME" --payload-size 64K --verify sequential \
  --sizes "$SIZES" --timeout 30
READER2=$PID
wait_line reader2 '^ready: ' $((BOUND_MS / 1000)) \
  || fail "new reader not ready in $((BOUND_MS / 1000)) s"
echo "new reader took over the stale name after $(ms_between "$T0" \
  "$(now_us)") ms"

start writer2 "$ZB" write "$NAME" --frames 20000 --sizes "$SIZES" \
  --pattern sequential --timeout 30
WRITER2=$PID
wait_exit "$WRITER2" 60 || fail "second writer still running after 60 s"
[ "$RC" -eq 0 ] || fail "second writer exited $RC"
wait_exit "$READER2" 30 || fail "second reader still running"
[ "$RC" -eq 0 ] || fail "second reader exited $RC"
expect_field reader2 frames 20000
expect_field reader2 errors 0
expect_field reader2 end eos

assert_clean "$NAME"
echo "ok: $(grep ^summary "$WORK/reader2.out")"

# Part 2: nobody survives to clean up after a SIGKILLed reader.
new_name kill-idle-reader
start reader3 "$ZB" read "$NAME" --payload-size 128K --timeout 60
READER3=$PID
wait_line reader3 '^ready: ' 10 || fail "reader not ready in 10 s"
# Every new reader, also another test's, removes the stale buffers it can
# prove stale (zb_reader_create), and a killed reader of ours is such a
# buffer.  Without its lock file nothing proves its reader dead, so only a
# reader of this very name takes it over, as before.
rm "/tmp/zerobuffer/$NAME.lock" || fail "reader made no lock file"
kill -9 "$READER3"
wait_exit "$READER3" 10 || fail "SIGKILLed reader still there"
for f in "/dev/shm/$NAME" "/dev/shm/sem.sem-w-$NAME" \
    "/dev/shm/sem.sem-r-$NAME"; do
  [ -e "$f" ] || fail "missing: $f"
done
"$ZB" info "$NAME" >"$WORK/info.out" 2>"$WORK/info.err" \
  || fail "info on the stale buffer failed"
grep -qE "^reader_pid: $READER3 \(dead\)$" "$WORK/info.out" \
  || fail "info does not show reader $READER3 dead"
grep -qE '^writer_pid: 0 \(none\)$' "$WORK/info.out" \
  || fail "info shows a writer on a buffer nobody wrote to"

# A writer must not attach to the dead reader's buffer.
"$ZB" write "$NAME" --frames 1 --size 10 --timeout 0.5 \
  >"$WORK/stalew.out" 2>"$WORK/stalew.err" && fail "writer attached to a dead reader's buffer"
expect_err stalew "no live reader"

T0=$(now_us)
start reader4 "$ZB" read "$NAME" --payload-size 64K --verify sequential \
  --sizes "$SIZES" --timeout 30
READER4=$PID
wait_line reader4 '^ready: ' $((BOUND_MS / 1000)) \
  || fail "new reader not ready in $((BOUND_MS / 1000)) s"
echo "new reader took over the dead reader's objects after $(ms_between \
  "$T0" "$(now_us)") ms"
"$ZB" info "$NAME" >"$WORK/info2.out" 2>&1 || fail "info failed"
grep -qxF "payload_size: 65536" "$WORK/info2.out" \
  || fail "the new buffer is not the new reader's (stale object reused?)"
"$ZB" write "$NAME" --frames 1000 --sizes "$SIZES" --pattern sequential \
  --timeout 30 >"$WORK/writer4.out" 2>"$WORK/writer4.err" \
  || fail "writer to the new reader failed"
wait_exit "$READER4" 30 || fail "new reader still running"
[ "$RC" -eq 0 ] || fail "new reader exited $RC"
expect_field reader4 frames 1000
expect_field reader4 errors 0
assert_clean "$NAME"
echo "ok: stale objects of a reader killed while idle were taken over"
