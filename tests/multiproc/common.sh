# Helpers for the multi-process tests; sourced by each test script.
#
# Every wait is on a condition with a deadline (a line in a log, a process
# exiting), never a fixed sleep.  Every buffer name carries the script's pid,
# so tests can run in parallel.  The EXIT trap kills what is still running
# and removes leftovers, so a failing test does not pollute the next one; the
# tests themselves assert that nothing was left before the trap runs.

set -u

# Time scale for every upper bound on time a test asserts (a dead peer
# noticed within N s, a stop that must not hang): meson sets ZB_TIME_SCALE
# to 4 in sanitized builds; export it by hand for a slow machine.  Write a
# bound as $((N * SCALE)) seconds or $((N_MS * SCALE)) ms.  Deadlines that
# only stop a wait for a condition are generous literals (>= 10 s); lower
# bounds (something must not happen within N ms) are never scaled.
SCALE=${ZB_TIME_SCALE:-1}
case $SCALE in
  ''|*[!0-9]*|0) SCALE=1 ;;
esac

: "${ZEROBUFFER:?set ZEROBUFFER to the zerobuffer tool (meson does)}"
ZB=$ZEROBUFFER
# Our own tool missing is a broken build, not a missing prerequisite.
[ -x "$ZB" ] || { echo "FAIL: $ZB not executable" >&2; exit 1; }
[ -d /dev/shm ] || { echo "SKIP: no /dev/shm"; exit 77; }

TEST=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zbmp-$TEST.XXXXXX")
ALL_NAMES=()
ALL_PIDS=()
NAME_COUNTER=0

cleanup () {
  local p n
  for p in "${ALL_PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null
  done
  for p in "${ALL_PIDS[@]}"; do
    wait "$p" 2>/dev/null
  done
  for n in "${ALL_NAMES[@]}"; do
    rm -f "/dev/shm/$n" "/dev/shm/sem.sem-w-$n" "/dev/shm/sem.sem-r-$n" \
      "/tmp/zerobuffer/$n.lock"
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Print every log we made, then fail.
fail () {
  local f
  echo "FAIL: $*" >&2
  for f in "$WORK"/*; do
    [ -f "$f" ] || continue
    echo "---- $(basename "$f")" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}

# new_name TAG: sets NAME to a fresh unique buffer name.
new_name () {
  NAME_COUNTER=$((NAME_COUNTER + 1))
  NAME="zbmp-$1-$$-$NAME_COUNTER"
  ALL_NAMES+=("$NAME")
}

now_us () {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((10#$t))
}

# start LOG -- CMD...: run CMD in the background with stdout in LOG.out and
# stderr in LOG.err; sets PID.
start () {
  local log=$1
  shift
  "$@" >"$WORK/$log.out" 2>"$WORK/$log.err" &
  PID=$!
  ALL_PIDS+=("$PID")
}

# wait_line LOG REGEX SECONDS: wait until LOG.out has a line matching REGEX.
wait_line () {
  local file="$WORK/$1.out" re=$2 deadline
  deadline=$(( $(now_us) + $3 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    grep -qE "$re" "$file" 2>/dev/null && return 0
    sleep 0.01
  done
  return 1
}

# wait_exit PID SECONDS: wait until PID exits; sets RC (its exit status) and
# EXIT_US (when we saw it gone).  Returns 1 if it is still running.
wait_exit () {
  local pid=$1 deadline
  deadline=$(( $(now_us) + $2 * 1000000 ))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.01
  done
  EXIT_US=$(now_us)
  wait "$pid"
  RC=$?
  return 0
}

# wait_info NAME FIELD MIN SECONDS: wait until `zerobuffer info NAME` shows
# FIELD >= MIN (e.g. payload_read_count), i.e. frames are really flowing.
wait_info () {
  local name=$1 field=$2 min=$3 deadline v
  deadline=$(( $(now_us) + $4 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    v=$("$ZB" info "$name" 2>/dev/null | sed -n "s/^$field: \([0-9]*\).*/\1/p")
    [ -n "$v" ] && [ "$v" -ge "$min" ] && return 0
    sleep 0.01
  done
  return 1
}

# field LOG KEY: the value of KEY=... on LOG's summary line.
field () {
  sed -n "s/^summary:.* $2=\([^ ]*\).*/\1/p" "$WORK/$1.out"
}

# expect_field LOG KEY VALUE
expect_field () {
  local v
  v=$(field "$1" "$2")
  [ "$v" = "$3" ] || fail "$1: $2=$v, expected $3"
}

expect_err () {
  grep -qi -- "$2" "$WORK/$1.err" || fail "$1: stderr lacks '$2'"
}

# The reason line is the only stderr output of a failing command.
expect_one_err_line () {
  local n
  n=$(wc -l <"$WORK/$1.err")
  [ "$n" -eq 1 ] || fail "$1: $n lines on stderr, expected one reason line"
}

# assert_clean NAME: none of the buffer's objects is left behind.
assert_clean () {
  local f
  for f in "/dev/shm/$1" "/dev/shm/sem.sem-w-$1" "/dev/shm/sem.sem-r-$1" \
      "/tmp/zerobuffer/$1.lock"; do
    [ ! -e "$f" ] || fail "left behind: $f"
  done
}

assert_exists () {
  local f
  for f in "/dev/shm/$1" "/dev/shm/sem.sem-w-$1" "/dev/shm/sem.sem-r-$1" \
      "/tmp/zerobuffer/$1.lock"; do
    [ -e "$f" ] || fail "missing: $f"
  done
}

# ms_between T0_US T1_US
ms_between () {
  echo $(( ($2 - $1) / 1000 ))
}
