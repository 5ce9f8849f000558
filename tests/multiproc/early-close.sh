#!/bin/bash
# A writer that attaches, writes and closes before the reader looks at the
# buffer even once: the reader must still get every frame, the metadata, and
# a clean end of stream.  The reader is stopped (SIGSTOP) while the writer
# runs, so the order is forced rather than hoped for.
source "$(dirname "$0")/common.sh"

# wait_stopped PID SECONDS: wait until PID is in state T (stopped).
wait_stopped () {
  local pid=$1 deadline state
  deadline=$(( $(now_us) + $2 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    state=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$pid/stat" 2>/dev/null)
    [ "$state" = T ] && return 0
    sleep 0.01
  done
  return 1
}

# With and without metadata: metadata is a second proof that a writer was
# there, frames alone must be enough.
for meta in early ""; do
for frames in 1 3 50; do
  new_name "early-$frames"
  start reader "$ZB" read "$NAME" --payload-size 64K --metadata-size 64 \
    --verify sequential --timeout 30
  READER=$PID
  wait_line reader '^ready: ' 10 || fail "reader not ready"
  kill -STOP "$READER"
  wait_stopped "$READER" 10 || fail "reader did not stop"

  "$ZB" write "$NAME" --frames "$frames" --size 100 --pattern sequential \
    ${meta:+--metadata "$meta"} --timeout 30 \
    >"$WORK/writer.out" 2>"$WORK/writer.err" \
    || fail "writer of $frames frames failed"

  kill -CONT "$READER"
  wait_exit "$READER" 30 || fail "reader still running"
  [ "$RC" -eq 0 ] || fail "reader exited $RC after a writer of $frames frames closed early"
  expect_field reader frames "$frames"
  expect_field reader errors 0
  expect_field reader end eos
  grep -q "^metadata: ${meta:-none}\$" "$WORK/reader.out" \
    || fail "metadata: expected '${meta:-none}'"
  assert_clean "$NAME"
  echo "ok: $frames frames (metadata '$meta') written and closed before the reader looked"
done
done
