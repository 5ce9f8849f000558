#!/bin/bash
# `zerobuffer info` against buffers in known states, made with a reader that
# stops reading (--stall-after 0), plus the writer's "ring full" timeout and
# SIGTERM while it waits for space.
source "$(dirname "$0")/common.sh"

# info_of NAME: run info into $WORK/info.out.
info_of () {
  "$ZB" info "$1" >"$WORK/info.out" 2>"$WORK/info.err" || fail "info $1 failed"
}

expect_info () {
  grep -qxF -- "$1" "$WORK/info.out" || fail "info lacks '$1'"
}

# 1. Fresh buffer, no writer: empty and healthy.  Sizes are rounded up to 64.
new_name info-fresh
FRESH=$NAME
# (umask 077 must not narrow --mode 0640, umask 0 must not widen the
# default 0600 below.)
start fresh bash -c 'umask 077; exec "$@"' umask "$ZB" read "$FRESH" \
  --payload-size 65500 --metadata-size 100 --stall-after 0 --mode 0640
FRESH_PID=$PID
wait_line fresh '^ready: ' 10 || fail "reader not ready"
info_of "$FRESH"
expect_info "name: $FRESH"
expect_info "oieb_size: 128"
expect_info "version: 1.0.0"
expect_info "metadata_size: 128"
expect_info "payload_size: 65536"
expect_info "payload_free_bytes: 65536"
expect_info "mapping_size: $((128 + 128 + 65536))"
expect_info "reader_pid: $FRESH_PID (alive)"
expect_info "writer_pid: 0 (none)"
expect_info "utilization: 0.0%"
expect_info "health: Healthy (utilization 0.0%)"

# --mode applies to every object, whatever the umask; the default is 0600.
expect_mode () {
  local f m
  for f in "/dev/shm/$1" "/dev/shm/sem.sem-w-$1" "/dev/shm/sem.sem-r-$1"; do
    m=$(stat -c %a "$f") || fail "no $f"
    [ "$m" = "$2" ] || fail "$f has mode $m, expected $2"
  done
}
expect_mode "$FRESH" 640

# 2. 54 frames of 1008 bytes (1024 ring bytes each) and nobody reading:
#    55296 of 65536 bytes in use, 84.4 %: degraded.
new_name info-degraded
start degraded bash -c 'umask 0; exec "$@"' umask "$ZB" read "$NAME" \
  --payload-size 64K --metadata-size 64 --stall-after 0
DEGRADED_PID=$PID
wait_line degraded '^ready: ' 10 || fail "reader not ready"
"$ZB" write "$NAME" --frames 54 --size 1008 --metadata "m" --timeout 30 \
  >"$WORK/w1.out" 2>"$WORK/w1.err" || fail "writer of 54 frames failed"
info_of "$NAME"
expect_info "payload_free_bytes: $((65536 - 55296))"
expect_info "payload_written_count: 54"
expect_info "payload_read_count: 0"
expect_info "payload_write_pos: 55296"
expect_info "metadata_written_bytes: 9"
expect_info "metadata_free_bytes: 55"
expect_info "utilization: 84.4%"
expect_info "health: Degraded (utilization 84.4%)"
expect_info "writer_pid: 0 (none)"
DEGRADED=$NAME
expect_mode "$DEGRADED" 600

# 3. A writer that wants more than the ring holds times out waiting for
#    space: 64 frames fill the ring exactly (write_pos == P), the 65th
#    cannot be placed while nobody reads.  100 %: critical.
new_name info-full
start full "$ZB" read "$NAME" --payload-size 64K --stall-after 0
FULL_PID=$PID
wait_line full '^ready: ' 10 || fail "reader not ready"
T0=$(now_us)
"$ZB" write "$NAME" --frames 70 --size 1008 --timeout 0.5 \
  >"$WORK/w2.out" 2>"$WORK/w2.err"
RC=$?
ms=$(ms_between "$T0" "$(now_us)")
[ "$RC" -eq 1 ] || fail "writer into a full ring exited $RC"
grep -q "timed out waiting for space at frame 64 " "$WORK/w2.err" \
  || fail "writer did not time out at frame 64"
[ "$(wc -l <"$WORK/w2.err")" -eq 1 ] || fail "more than one reason line"
[ "$ms" -ge 450 ] && [ "$ms" -le $((5000 * SCALE)) ] \
  || fail "full ring: $ms ms for --timeout 0.5"
info_of "$NAME"
expect_info "payload_free_bytes: 0"
expect_info "payload_write_pos: 65536"
expect_info "utilization: 100.0%"
expect_info "health: Critical (utilization 100.0%)"

# 4. SIGTERM reaches a writer that waits for space with no timeout.
start w3 "$ZB" write "$NAME" --frames 10 --size 1008
W3=$PID
wait_line w3 '^connected: ' 10 || fail "writer did not connect"
kill -TERM "$W3"
T0=$(now_us)
wait_exit "$W3" $((5 * SCALE + 10)) || fail "writer ignored SIGTERM"
ms=$(ms_between "$T0" "$EXIT_US")
[ "$RC" -eq 143 ] || fail "writer exit $RC after SIGTERM, expected 143"
expect_err w3 "interrupted by SIGTERM"
expect_field w3 frames 0
expect_field w3 end signal
[ "$ms" -le $((5000 * SCALE)) ] || fail "writer took $ms ms to honour SIGTERM"
echo "blocked writer left $ms ms after SIGTERM"

# Stalled readers leave on SIGTERM and take everything with them.
for pid in "$FRESH_PID" "$DEGRADED_PID" "$FULL_PID"; do
  kill -TERM "$pid"
done
for pid in "$FRESH_PID" "$DEGRADED_PID" "$FULL_PID"; do
  wait_exit "$pid" 10 || fail "reader $pid ignored SIGTERM"
  [ "$RC" -eq 143 ] || fail "reader $pid exit $RC after SIGTERM"
done
assert_clean "$FRESH"
assert_clean "$DEGRADED"
assert_clean "$NAME"

# 5. info on a name nobody created.
new_name info-none
"$ZB" info "$NAME" >"$WORK/none.out" 2>"$WORK/none.err" && fail "info on nothing succeeded"
expect_err none "no such buffer"
assert_clean "$NAME"
echo ok
