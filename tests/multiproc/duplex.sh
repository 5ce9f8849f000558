#!/bin/bash
# Upstream's Harmony feature 13 (duplex channel) across processes: a
# `zerobuffer serve` server and a `zerobuffer request` client that checks
# every response byte for byte.  Scenario (first argument):
#   basic         13.1: 1 B, 1 KiB, 100 KiB through an echo server with
#                 4 KiB / 1 MiB buffers; the metadata reaches the server
#   order         13.2: 10 requests back to back, responses in order
#   burst         13.3: 20 requests from one thread, exactly 20 responses
#   single-thread 13.4: a 100 ms handler: three requests take >= 300 ms
#   server-death  13.5: the server dies with a 1 KiB request in flight; the
#                 client (waiting up to 60 s) says so within 5 s * SCALE
#   full          13.6: a doubling handler, a client that reads nothing:
#                 the server blocks on its response write until the client
#                 reads (1 KiB / 10 KiB request buffer)
#   zero-copy     13.7: requests made in place (reserve/commit)
#   xor           13.8: XOR 0xFF of a 10240-byte pattern, and invert
#   client-death  13.9: the client dies while a 2 s handler works; the
#                 server notices when it answers and serves the next client
#   dispose       13.10: the server is stopped with requests pending: the
#                 client says the server is gone; the name is reused
source "$(dirname "$0")/common.sh"

SCENARIO=${1:-basic}
BOUND_MS=$((5000 * SCALE))

# serve_start LOG ARGS...: start a server on $NAME, wait for its ready line.
serve_start () {
  local log=$1
  shift
  start "$log" "$ZB" serve "$NAME" "$@"
  SERVER=$PID
  wait_line "$log" '^ready: ' 10 || fail "$log: not ready in 10 s"
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

# end_field LOG KEY: KEY=... on the server's last "end:" line.
end_field () {
  sed -n "s/^end:.* $2=\([^ ]*\).*/\1/p" "$WORK/$1.out" | tail -n 1
}

# expect_ok LOG: a client that verified everything.
expect_ok () {
  [ "$RC" -eq 0 ] || fail "$1 exited $RC"
  [ ! -s "$WORK/$1.err" ] || fail "$1 printed errors"
  expect_field "$1" errors 0
  expect_field "$1" end done
  expect_field "$1" verified "$(field "$1" requests)"
}

# channel_clean: nothing of the channel is left.
channel_clean () {
  assert_clean "${NAME}_request"
  assert_clean "${NAME}_response"
}

new_name "dx-$SCENARIO"
ALL_NAMES+=("${NAME}_request" "${NAME}_response")

case $SCENARIO in
  basic)
    META='{"type":"gstreamer-filter","caps":"video/x-raw"}'
    serve_start server --metadata-size 4K --payload-size 1M --timeout 30
    start client "$ZB" request "$NAME" --count 3 --sizes 1,1024,102400 \
      --verify echo --metadata "$META" --timeout 30
    wait_exit "$PID" 60 || fail "client still running after 60 s"
    expect_ok client
    expect_field client responses 3
    expect_field client bytes_in $((1 + 1024 + 102400))
    wait_exit "$SERVER" 30 || fail "server still running 30 s after its client"
    [ "$RC" -eq 0 ] || fail "server exited $RC"
    # Read when it attached: the client wrote it before CH_response existed.
    grep -qxF "metadata: $META" "$WORK/server.out" \
      || fail "server did not see the metadata when it attached"
    [ "$(end_field server reason)" = eos ] || fail "session did not end in eos"
    expect_field server responses 3
    ;;

  order|burst)
    n=10
    [ "$SCENARIO" = burst ] && n=20
    serve_start server --timeout 30
    # All requests first (the window is as large as the count), then every
    # response, each checked against its own request: order is content.
    start client "$ZB" request "$NAME" --count $n --sizes 100,333,1000 \
      --in-flight $n --verify echo --timeout 30
    wait_exit "$PID" 60 || fail "client still running after 60 s"
    expect_ok client
    expect_field client requests $n
    expect_field client responses $n
    wait_exit "$SERVER" 30 || fail "server still running"
    [ "$RC" -eq 0 ] || fail "server exited $RC"
    [ "$(end_field server requests)" = $n ] || fail "server saw the wrong count"
    [ "$(end_field server responses)" = $n ] || fail "server answered the wrong count"
    ;;

  single-thread)
    serve_start server --handler delay=100 --timeout 30
    t0=$(now_us)
    start client "$ZB" request "$NAME" --count 3 --size 64 --timeout 30
    wait_exit "$PID" 60 || fail "client still running after 60 s"
    ms=$(ms_between "$t0" "$EXIT_US")
    expect_ok client
    # Each round trip waited for the handler (a lower bound: not scaled).
    p50=$(field client p50_us)
    [ "${p50%.*}" -ge 100000 ] || fail "p50 $p50 us, below the 100 ms handler"
    [ "$ms" -ge 300 ] || fail "three requests took $ms ms, below 300"
    echo "three requests through a 100 ms handler: $ms ms (p50 $p50 us)"
    wait_exit "$SERVER" 30 || fail "server still running"
    ;;

  server-death)
    serve_start server --handler crash-after=0,delay=100 --timeout 30
    start client "$ZB" request "$NAME" --count 1 --size 1K --timeout 60
    CLIENT=$PID
    wait_exit "$SERVER" 30 || fail "server did not crash"
    [ "$RC" -eq 3 ] || fail "server exited $RC, not its crash status 3"
    grep -q '^crash: ' "$WORK/server.out" || fail "server did not say crash"
    T0=$EXIT_US
    wait_exit "$CLIENT" 60 || fail "client still running 60 s after the crash"
    ms=$(ms_between "$T0" "$EXIT_US")
    echo "client noticed the dead server and exited after $ms ms"
    [ "$ms" -le "$BOUND_MS" ] || fail "client took $ms ms (bound $BOUND_MS)"
    [ "$RC" -ne 0 ] || fail "client exited 0 without a response"
    expect_err client "server gone"
    expect_err client "died"
    expect_err client ZB_ESERVERGONE
    expect_one_err_line client
    expect_field client responses 0
    expect_field client end server-gone
    ;;

  full)
    # Two 8192-byte responses fill a ring of zb_ring_size_for_frame(8192)
    # = 16431 bytes from its start, so the third blocks the server.
    serve_start server --handler double --metadata-size 1K \
      --payload-size 10K --timeout 30
    start client "$ZB" request "$NAME" --count 3 --size 4096 --in-flight 3 \
      --verify double --response-size 16431 --hold-responses --timeout 30
    CLIENT=$PID
    wait_info "${NAME}_request" payload_read_count 3 20 \
      || fail "server did not take the third request"
    wait_info "${NAME}_response" payload_written_count 2 20 \
      || fail "server did not answer two"
    # Blocked: nothing more is written while the client reads nothing.
    sleep 0.3
    v=$("$ZB" info "${NAME}_response" | sed -n 's/^payload_written_count: //p')
    [ "$v" = 2 ] || fail "server wrote $v responses into a full ring"
    v=$("$ZB" info "${NAME}_response" | sed -n 's/^payload_free_bytes: //p')
    [ "$v" = $((16448 - 2 * 8208)) ] || fail "free bytes $v"
    kill -USR1 "$CLIENT"
    wait_exit "$CLIENT" 60 || fail "client still running after it read"
    expect_ok client
    expect_field client responses 3
    expect_field client bytes_in $((3 * 8192))
    wait_exit "$SERVER" 30 || fail "server still running"
    [ "$RC" -eq 0 ] || fail "server exited $RC"
    [ "$(end_field server failed)" = 0 ] || fail "server dropped a response"
    ;;

  zero-copy)
    serve_start server --timeout 30
    start client "$ZB" request "$NAME" --count 2000 \
      --sizes 4096,1,777,65536 --in-flight 4 --zero-copy --timeout 30
    wait_exit "$PID" 60 || fail "client still running after 60 s"
    expect_ok client
    expect_field client responses 2000
    wait_exit "$SERVER" 30 || fail "server still running"
    ;;

  xor)
    serve_start server --handler xor --timeout 30
    start client "$ZB" request "$NAME" --count 10 --size 10240 \
      --verify xor=0xff --timeout 30
    wait_exit "$PID" 60 || fail "xor client still running after 60 s"
    expect_ok client
    wait_exit "$SERVER" 30 || fail "server still running"
    serve_start server2 --handler invert --timeout 30
    start client2 "$ZB" request "$NAME" --count 10 --size 10240 \
      --verify invert --timeout 30
    wait_exit "$PID" 60 || fail "invert client still running after 60 s"
    expect_ok client2
    wait_exit "$SERVER" 30 || fail "server2 still running"
    # And a mismatch is caught: an invert server is not an xor=0x0f one.
    serve_start server3 --handler invert --timeout 30
    start client3 "$ZB" request "$NAME" --count 10 --size 100 \
      --verify xor=0x0f --timeout 30
    wait_exit "$PID" 60 || fail "mismatch client still running after 60 s"
    [ "$RC" -ne 0 ] || fail "a wrong response verified"
    expect_err client3 "differs at byte 0"
    expect_one_err_line client3
    wait_exit "$SERVER" 30 || fail "server3 still running"
    ;;

  client-death)
    serve_start server --handler delay=2000 --keep-serving --timeout 60
    start client "$ZB" request "$NAME" --count 1 --size 1K --timeout 60
    CLIENT=$PID
    wait_line server '^client: ' 20 || fail "client did not attach"
    wait_info "${NAME}_request" payload_read_count 1 20 \
      || fail "server did not take the request"
    kill -9 "$CLIENT"
    T0=$(now_us)
    wait "$CLIENT" 2>/dev/null
    # The handler's 2 s, then the write that finds the client dead.
    wait_line server '^end: .*reason=client-died' $((10 + 2 * SCALE)) \
      || fail "server did not notice the dead client"
    ms=$(ms_between "$T0" "$(now_us)")
    echo "server noticed the dead client $ms ms after the kill"
    [ "$ms" -le $((2000 + BOUND_MS)) ] || fail "took $ms ms"
    [ "$(end_field server responses)" = 0 ] || fail "answered a dead client"
    # The dead client's CH_response went with it (removed by the server).
    assert_clean "${NAME}_response"
    # And it goes on with the next client, once the channel is made anew.
    wait_lines server '^ready: ' 2 10 || fail "server did not make the channel anew"
    start client2 "$ZB" request "$NAME" --count 1 --size 1K --timeout 60
    wait_exit "$PID" 60 || fail "second client still running"
    expect_ok client2
    kill -TERM "$SERVER"
    wait_exit "$SERVER" 30 || fail "server ignored SIGTERM"
    [ "$RC" -eq 0 ] || fail "server stopped between clients exited $RC"
    expect_field server sessions 2
    expect_field server end signal
    [ ! -s "$WORK/server.err" ] || fail "server printed errors"
    ;;

  dispose)
    serve_start server --handler delay=1000 --timeout 30
    start client "$ZB" request "$NAME" --count 5 --size 200 --in-flight 5 \
      --timeout 60
    CLIENT=$PID
    wait_info "${NAME}_response" payload_read_count 3 30 \
      || fail "client did not read three responses"
    kill -TERM "$SERVER"
    T0=$(now_us)
    wait_exit "$SERVER" 30 || fail "server ignored SIGTERM"
    [ "$RC" -eq 143 ] || fail "server stopped in a session exited $RC"
    assert_clean "${NAME}_request"
    wait_exit "$CLIENT" 60 || fail "client still running after the dispose"
    ms=$(ms_between "$T0" "$EXIT_US")
    echo "client noticed the disposed server after $ms ms"
    [ "$ms" -le "$BOUND_MS" ] || fail "client took $ms ms (bound $BOUND_MS)"
    [ "$RC" -ne 0 ] || fail "client exited 0 with responses pending"
    expect_err client "server gone"
    expect_err client "closed"
    expect_one_err_line client
    r=$(field client responses)
    [ "$r" -ge 3 ] && [ "$r" -lt 5 ] || fail "client got $r responses"
    channel_clean
    # The name again: a new server and a new client.
    serve_start server2 --timeout 30
    start client2 "$ZB" request "$NAME" --count 5 --size 200 --timeout 30
    wait_exit "$PID" 60 || fail "client of the new server still running"
    expect_ok client2
    wait_exit "$SERVER" 30 || fail "new server still running"
    ;;

  *)
    fail "unknown scenario $SCENARIO"
    ;;
esac

channel_clean
echo "ok: $SCENARIO: $(grep -h ^summary "$WORK"/client*.out | tr '\n' ' ')"
