#!/bin/bash
# Duplex channel errors and lifecycle through `zerobuffer serve` and
# `zerobuffer request`: each failure has a non-zero status, one reason line
# naming the problem (a distinct one for each), comes within its bound, and
# leaves nothing behind.
source "$(dirname "$0")/common.sh"

BOUND_MS=$((5000 * SCALE))
LONG_S=$((15 * SCALE))

# run LOG -- CMD...: run CMD in the foreground (bounded), set RC and
# ELAPSED_MS.
run () {
  local log=$1 t0
  shift
  t0=$(now_us)
  timeout -s KILL $((LONG_S + 30)) "$@" >"$WORK/$log.out" 2>"$WORK/$log.err"
  RC=$?
  ELAPSED_MS=$(ms_between "$t0" "$(now_us)")
}

# new_channel TAG: NAME is a fresh channel; both buffers are cleaned at exit.
new_channel () {
  new_name "$1"
  ALL_NAMES+=("${NAME}_request" "${NAME}_response")
}

channel_clean () {
  assert_clean "${NAME}_request"
  assert_clean "${NAME}_response"
}

# wait_lines LOG REGEX N SECONDS: wait until LOG.out has N matching lines.
wait_lines () {
  local file="$WORK/$1.out" deadline
  deadline=$(( $(now_us) + $4 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    [ "$(grep -cE "$2" "$file" 2>/dev/null)" -ge "$3" ] && return 0
    sleep 0.01
  done
  return 1
}

# 1. Bad channel names: refused by both commands, nothing created.  A
#    channel of 192 bytes is refused because CHANNEL_response would be 201.
TAG="zbdxbad-$$"
long=$(printf 'x%.0s' $(seq 1 $((192 - ${#TAG}))))
bad_names=("../$TAG" "$TAG/b" ".$TAG" "$TAG name" "" "${TAG}${long}")
i=0
for bad in "${bad_names[@]}"; do
  i=$((i + 1))
  run bads$i "$ZB" serve "$bad" --timeout 1
  [ "$RC" -eq 1 ] || fail "serve accepted channel '$bad' (exit $RC)"
  expect_err bads$i "invalid buffer name"
  expect_err bads$i "channel"
  expect_one_err_line bads$i
  grep -q '^ready:' "$WORK/bads$i.out" && fail "serve got ready on '$bad'"
  run badc$i "$ZB" request "$bad" --count 1 --size 1 --timeout "$LONG_S"
  [ "$RC" -eq 1 ] || fail "request accepted channel '$bad' (exit $RC)"
  expect_err badc$i "invalid buffer name"
  [ "$ELAPSED_MS" -lt "$BOUND_MS" ] \
    || fail "request waited $ELAPSED_MS ms on bad channel '$bad'"
done
expect_err bads6 "longer than 191"
left=$(find /dev/shm /tmp/zerobuffer -maxdepth 1 -name "*$TAG*" 2>/dev/null)
[ -z "$left" ] || fail "bad channels created: $left"
echo "bad channels: all ${#bad_names[@]} refused, nothing created"

# The longest legal channel (191 bytes) works end to end.
NAME="zbmp-dxlong-$$-"
NAME="$NAME$(printf 'y%.0s' $(seq 1 $((191 - ${#NAME}))))"
ALL_NAMES+=("${NAME}_request" "${NAME}_response")
start longs "$ZB" serve "$NAME" --timeout 30
LONGS=$PID
wait_line longs '^ready: ' 10 || fail "191-byte channel refused"
run longc "$ZB" request "$NAME" --count 10 --size 100 --timeout 10
[ "$RC" -eq 0 ] || fail "client on a 191-byte channel exited $RC"
wait_exit "$LONGS" 10 || fail "server on a 191-byte channel still running"
[ "$RC" -eq 0 ] || fail "server on a 191-byte channel exited $RC"
channel_clean

# 2. No server: "no duplex server" after --timeout, not before.
new_channel dxnoserver
run noserver "$ZB" request "$NAME" --count 1 --size 10 --timeout 1
[ "$RC" -eq 1 ] || fail "request without a server: exit $RC"
expect_err noserver "no duplex server"
expect_err noserver ZB_ENOTFOUND
expect_one_err_line noserver
[ "$ELAPSED_MS" -ge 900 ] || fail "gave up after $ELAPSED_MS ms, before --timeout 1"
[ "$ELAPSED_MS" -le "$BOUND_MS" ] || fail "took $ELAPSED_MS ms for --timeout 1"
echo "no server: failed after $ELAPSED_MS ms (--timeout 1)"
channel_clean

# 3. A server that never attaches (here a plain reader of CHANNEL_request):
#    a distinct error, after --timeout; the client's CHANNEL_response goes.
new_channel dxnoattach
start fake "$ZB" read "${NAME}_request" --payload-size 64K --metadata-size 4K \
  --timeout 30
FAKE=$PID
wait_line fake '^ready: ' 10 || fail "fake server not ready"
run noattach "$ZB" request "$NAME" --count 1 --size 10 --timeout 1 \
  --metadata hello
[ "$RC" -eq 1 ] || fail "request to a server that never attaches: exit $RC"
expect_err noattach "server did not attach"
expect_err noattach ZB_ENOATTACH
expect_err noattach "${NAME}_response"
expect_one_err_line noattach
grep -q '^connected: ' "$WORK/noattach.out" || fail "client did not connect"
[ "$ELAPSED_MS" -ge 900 ] || fail "gave up after $ELAPSED_MS ms"
[ "$ELAPSED_MS" -le "$BOUND_MS" ] || fail "took $ELAPSED_MS ms for --timeout 1"
echo "server never attaches: failed after $ELAPSED_MS ms (--timeout 1)"
assert_clean "${NAME}_response"
# The client closed its writer: the fake server sees the end, and the
# metadata the client wrote before creating CHANNEL_response.
wait_exit "$FAKE" 10 || fail "fake server did not see the client leave"
[ "$RC" -eq 0 ] || fail "fake server exited $RC"
grep -qx 'metadata: hello' "$WORK/fake.out" || fail "metadata not written"
channel_clean

# 4. A client that never creates CHANNEL_response (here a plain writer of
#    CHANNEL_request): the server gives up after its window.
new_channel dxnoresp
start srv "$ZB" serve "$NAME" --attach-timeout 1 --timeout 30
SRV=$PID
wait_line srv '^ready: ' 10 || fail "server not ready"
start fakec "$ZB" write "${NAME}_request" --frames 1 --size 10 --timeout 10
wait_line fakec '^connected: ' 10 || fail "fake client did not connect"
T0=$(now_us)
wait_exit "$SRV" 30 || fail "server still waiting for CHANNEL_response"
ms=$(ms_between "$T0" "$EXIT_US")
[ "$RC" -eq 1 ] || fail "server without a response buffer exited $RC"
expect_err srv "did not create ${NAME}_response"
expect_one_err_line srv
grep -q '^end: .*reason=no-response-buffer' "$WORK/srv.out" \
  || fail "no end line for the session"
[ "$ms" -le $((1000 + BOUND_MS)) ] || fail "server gave up after $ms ms"
echo "client never creates its response buffer: server gave up after $ms ms"
wait_exit "$PID" 10 || fail "fake client still running"
channel_clean

# 5. A server that keeps serving: a client that never made its response
#    buffer, then two clients with their own metadata; a second client on a
#    busy channel is refused; SIGTERM between clients is a clean stop.
new_channel dxkeep
start keep "$ZB" serve "$NAME" --keep-serving --attach-timeout 1 \
  --handler invert
KEEP=$PID
wait_line keep '^ready: ' 10 || fail "server not ready"
start fakec2 "$ZB" write "${NAME}_request" --frames 1 --size 10 --timeout 10
wait_line keep '^end: .*reason=no-response-buffer' 30 \
  || fail "session without a response buffer did not end"
wait_exit "$PID" 10 || fail "fake client still running"
for k in 1 2; do
  wait_lines keep '^ready: ' $((k + 1)) 10 || fail "server did not start afresh"
  start c$k "$ZB" request "$NAME" --count 100 --size 1000 --verify invert \
    --metadata "client $k" --hold-responses --timeout 30
  C=$PID
  wait_lines keep '^client: ' "$k" 10 || fail "client $k not served"
  # Another client meanwhile is refused at once.
  run busy$k "$ZB" request "$NAME" --count 1 --size 1 --timeout "$LONG_S"
  [ "$RC" -eq 1 ] || fail "second client on a busy channel: exit $RC"
  expect_err busy$k ZB_EWRITERBUSY
  [ "$ELAPSED_MS" -lt "$BOUND_MS" ] || fail "busy refusal took $ELAPSED_MS ms"
  kill -USR1 "$C"
  wait_exit "$C" 30 || fail "client $k still running"
  [ "$RC" -eq 0 ] || fail "client $k exited $RC"
  expect_field c$k verified 100
  wait_lines keep '^end: .*reason=eos' "$k" 10 || fail "session $k did not end"
done
grep -qx 'metadata: client 1' "$WORK/keep.out" || fail "metadata 1 not seen"
grep -qx 'metadata: client 2' "$WORK/keep.out" || fail "metadata 2 not seen"
wait_lines keep '^ready: ' 4 10 || fail "server did not start afresh"
kill -TERM "$KEEP"
wait_exit "$KEEP" 10 || fail "server ignored SIGTERM"
[ "$RC" -eq 0 ] || fail "server stopped between clients exited $RC"
[ ! -s "$WORK/keep.err" ] || fail "server printed errors"
expect_field keep sessions 3
expect_field keep responses 200
expect_field keep end signal
channel_clean

# 6. SIGTERM to a server waiting for its only client is a failure, reported,
#    with everything removed.
new_channel dxsig
start sig "$ZB" serve "$NAME"
SIG=$PID
wait_line sig '^ready: ' 10 || fail "server not ready"
kill -TERM "$SIG"
wait_exit "$SIG" 10 || fail "server ignored SIGTERM"
[ "$RC" -eq 143 ] || fail "server interrupted while waiting exited $RC"
expect_err sig "interrupted by SIGTERM while waiting for a client"
expect_one_err_line sig
channel_clean

# 7. Usage errors.
run use1 "$ZB" serve "$NAME" --handler bogus
[ "$RC" -eq 2 ] || fail "unknown handler: exit $RC"
run use2 "$ZB" serve "$NAME" --handler echo,double
[ "$RC" -eq 2 ] || fail "two transforms: exit $RC"
run use3 "$ZB" request "$NAME" --size 10
[ "$RC" -eq 2 ] || fail "request without --count: exit $RC"
run use4 "$ZB" request "$NAME" --count 1 --size 10 --verify xor=300
[ "$RC" -eq 2 ] || fail "xor key 300: exit $RC"
channel_clean
echo "ok"
