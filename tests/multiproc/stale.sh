#!/bin/bash
# Stale buffers: readers of random names killed with SIGKILL (and, for
# gst-launch, SIGTERM, which it does not catch) leave their objects; a dry
# run of `zerobuffer clean` reports them and changes nothing; then one new
# reader of another name leaves /dev/shm and /tmp/zerobuffer exactly as
# they were before the killed readers.  Meanwhile a live reader of ours, a
# half-made buffer, a hostile header and a foreign object are never
# touched, and the live reader still streams afterwards.
#   cli  the killed readers are `zerobuffer read`; the CLI catches SIGTERM
#        and removes its own objects, which is checked too
#   gst  the killed readers are gst-launch-1.0 zerosrc pipelines
# Runs in a private mount namespace (private-ns.sh): nothing else can
# remove the stale buffers first, and the directories compare whole.
source "$(dirname "$0")/private-ns.sh" "$@"
VARIANT=${1:-cli}
case $VARIANT in
  cli) source "$(dirname "$0")/common.sh" ;;
  gst) source "$(dirname "$0")/gst-common.sh" ;;
  *) echo "unknown variant $VARIANT" >&2; exit 1 ;;
esac

# le64 N: N as 8 little-endian bytes, for hand-made headers.
le64 () {
  local i
  for i in 0 1 2 3 4 5 6 7; do
    printf "\\x$(printf %02x $(( ($1 >> (8 * i)) & 255 )))"
  done
}

# A random buffer name (registered for the EXIT cleanup).
random_name () {
  NAME="zbmp-stale-$$-$(printf %04x%04x $RANDOM $RANDOM)"
  ALL_NAMES+=("$NAME")
}

# start_reader LOG: a reader of $NAME, ours: the CLI or zerosrc.
start_reader () {
  if [ "$VARIANT" = gst ]; then
    gst_start "$1" zerosrc buffer-name="$NAME" payload-size=262144 \
      metadata-size=4096 ! fakesink
  else
    start "$1" "$ZB" read "$NAME" --payload-size 256K --metadata-size 4K
  fi
}

# --- what is there before: none of it may change --------------------
new_name live
LIVE=$NAME
start live "$ZB" read "$LIVE" --payload-size 64K --frames 100 \
  --verify sequential --timeout 60
LIVE_PID=$PID
wait_line live '^ready: ' 10 || fail "live reader not ready"

# Half-made: the object sized, semaphores there, no header yet.
new_name half
head -c $((128 + 4096)) /dev/zero >"/dev/shm/$NAME"
head -c 32 /dev/zero >"/dev/shm/sem.sem-w-$NAME"
head -c 32 /dev/zero >"/dev/shm/sem.sem-r-$NAME"
# A header that claims a ring far bigger than its object, reader dead.
new_name hostile
{ printf '\x80\0\0\0\x01\0\0\0'; le64 64; le64 64; le64 0; le64 $((1 << 40))
  head -c $((128 - 40)) /dev/zero; } >"/dev/shm/$NAME"
# Truncated: the start of a header, 64 bytes; and a foreign object.
new_name truncated
{ printf '\x80\0\0\0\x01\0\0\0'; head -c 56 /dev/zero; } >"/dev/shm/$NAME"
new_name foreign
head -c 8192 /dev/urandom >"/dev/shm/$NAME"
BEFORE=$(host_state)

# --- readers of random names, killed -----------------------------------
# All made first: each reader created removes the stale buffers there are.
HOWS=(KILL KILL TERM)
NAMES=()
PIDS=()
for how in "${HOWS[@]}"; do
  random_name
  start_reader "r-$NAME"
  NAMES+=("$NAME")
  PIDS+=("$PID")
done
for i in "${!NAMES[@]}"; do
  NAME=${NAMES[$i]}
  if [ "$VARIANT" = gst ]; then
    wait_shm "$NAME" "${PIDS[$i]}" 20 || fail "zerosrc did not make $NAME"
  else
    wait_line "r-$NAME" '^ready: ' 10 || fail "reader of $NAME not ready"
  fi
  # ready: the header is written last
  deadline=$(( $(now_us) + 20000000 ))
  until "$ZB" info "$NAME" 2>/dev/null | grep -q '^oieb_size: 128$'; do
    [ "$(now_us)" -lt "$deadline" ] || fail "$NAME never got a header"
    sleep 0.01
  done
done
KILLED=()
for i in "${!NAMES[@]}"; do
  NAME=${NAMES[$i]}
  how=${HOWS[$i]}
  kill -"$how" "${PIDS[$i]}"
  wait_exit "${PIDS[$i]}" 20 || fail "reader of $NAME survived SIG$how"
  if [ "$VARIANT" = cli ] && [ "$how" = TERM ]; then
    # The CLI catches SIGTERM and removes its objects itself.
    [ "$RC" -eq 143 ] || fail "CLI reader after SIGTERM exited $RC"
    assert_clean "$NAME"
    continue
  fi
  assert_exists "$NAME"
  KILLED+=("$NAME")
done
echo "killed readers left: ${KILLED[*]}"

# --- dry run: says what, changes nothing ---------------------------------
STATE=$(host_state)
"$ZB" clean --dry-run --verbose >"$WORK/dry.out" 2>"$WORK/dry.err" \
  || fail "clean --dry-run exited $?"
[ "$(host_state)" = "$STATE" ] || fail "clean --dry-run changed something"
for n in "${KILLED[@]}"; do
  grep -qE "^would remove: $n \(reader pid [0-9]+ died" "$WORK/dry.out" \
    || fail "dry run does not name $n"
done
grep -qE "^kept: $LIVE \(in use: a reader of ours holds it" "$WORK/dry.out" \
  || fail "dry run does not keep the live reader"
grep -qx "summary: would_remove=${#KILLED[@]} kept=1 failed=0" \
  "$WORK/dry.out" || fail "dry run summary: $(tail -1 "$WORK/dry.out")"
# ls marks the same ones stale, and only those.
"$ZB" ls >"$WORK/ls.out" 2>&1 || fail "ls exited $?"
[ "$(host_state)" = "$STATE" ] || fail "ls changed something"
[ "$(grep -c ' stale ' "$WORK/ls.out")" -eq ${#KILLED[@]} ] \
  || fail "ls marks $(grep -c ' stale ' "$WORK/ls.out") stale"
for n in "${KILLED[@]}"; do
  grep -qE "^$n .* dead .* stale " "$WORK/ls.out" || fail "ls: $n not stale"
done

# --- one new reader of another name -------------------------------------
new_name fresh
start fresh "$ZB" read "$NAME" --payload-size 64K --timeout 0.5
FRESH=$PID
wait_line fresh '^ready: ' 10 || fail "new reader not ready"
for n in "${KILLED[@]}"; do
  assert_clean "$n"
done
wait_exit "$FRESH" 20 || fail "new reader still running"
[ "$(host_state)" = "$BEFORE" ] || fail "not as before the killed readers:
$(diff <(echo "$BEFORE") <(host_state))"
echo "ok: one new reader removed ${#KILLED[@]} stale buffers, nothing else"

# --- and `zerobuffer clean` does the same -------------------------------
random_name
start_reader gone
if [ "$VARIANT" = gst ]; then
  wait_shm "$NAME" "$PID" 20 || fail "no $NAME"
else
  wait_line gone '^ready: ' 10 || fail "no $NAME"
fi
until "$ZB" info "$NAME" 2>/dev/null | grep -q '^oieb_size: 128$'; do
  kill -0 "$PID" || fail "reader of $NAME died"
  sleep 0.01
done
kill -9 "$PID"
wait_exit "$PID" 20 || fail "reader of $NAME survived SIGKILL"
"$ZB" clean >"$WORK/clean.out" 2>&1 || fail "clean exited $?"
grep -qE "^removed: $NAME \(reader pid [0-9]+ died" "$WORK/clean.out" \
  || fail "clean did not remove $NAME"
grep -qx "summary: removed=1 kept=1 failed=0" "$WORK/clean.out" \
  || fail "clean summary: $(tail -1 "$WORK/clean.out")"
[ "$(host_state)" = "$BEFORE" ] || fail "clean left the host changed:
$(diff <(echo "$BEFORE") <(host_state))"
"$ZB" clean "$LIVE" >"$WORK/clean1.out" 2>&1 || fail "clean LIVE exited $?"
grep -qx "summary: removed=0 kept=1 failed=0" "$WORK/clean1.out" \
  || fail "clean of the live buffer: $(cat "$WORK/clean1.out")"
"$ZB" clean no-such-buffer >"$WORK/clean2.out" 2>"$WORK/clean2.err" \
  && fail "clean of a missing buffer exited 0"
expect_err clean2 "no-such-buffer"

# --- the live reader still streams --------------------------------------
"$ZB" write "$LIVE" --frames 100 --size 1000 --pattern sequential \
  --timeout 20 >"$WORK/w.out" 2>"$WORK/w.err" || fail "writer to live: $?"
wait_exit "$LIVE_PID" 20 || fail "live reader still running"
[ "$RC" -eq 0 ] || fail "live reader exited $RC"
expect_field live frames 100
expect_field live errors 0
echo "ok: $VARIANT"
