#!/usr/bin/env bash
# Soak: FRAMES frames of mixed sizes through zerosink -> zerosrc, reader and
# writer in separate processes (zb-soak.c), every frame verified on the
# reader, checksums compared, RSS sampled every FRAMES/10 frames.
#
#   tests/soak/soak.sh [FRAMES] [RING]     (default 10000000 frames, 262144)
#
# Builds nothing.  meson's benchmark passes ZB_SOAK and the GStreamer
# environment; run by hand, point SOAK_BUILD at a build directory.
# Optional: SOAK_SEED (1), SOAK_COMPACT (zerosink compact-window, bytes;
# 0 = off), SOAK_TIMEOUT (s, 3600), SOAK_RSS_SLACK_KB (1024:
# the VmRSS growth that still counts as flat).  Growth is the peak of the
# last five of the ten samples minus the peak of the first five (the first
# is taken after a tenth of the frames): a leak raises the later peak, while
# appsrc's queue and malloc make single samples swing by up to about the
# ring's size.  Exit status 0 only if everything checked out.

set -u

FRAMES=${1:-10000000}
RING=${2:-262144}
SEED=${SOAK_SEED:-1}
TIMEOUT=${SOAK_TIMEOUT:-3600}
SLACK_KB=${SOAK_RSS_SLACK_KB:-1024}

if [ -z "${ZB_SOAK:-}" ]; then
  : "${SOAK_BUILD:?set SOAK_BUILD to a build directory (or use meson test \
--benchmark soak)}"
  ZB_SOAK=$SOAK_BUILD/tests/soak/zb-soak
  export GST_PLUGIN_PATH_1_0=$SOAK_BUILD/gst
  export GST_PLUGIN_SYSTEM_PATH_1_0=$SOAK_BUILD/tests/soak/soak-plugins
  export GST_REGISTRY_1_0=$SOAK_BUILD/tests/soak/soak.registry
fi
[ -x "$ZB_SOAK" ] || { echo "soak: $ZB_SOAK is not built"; exit 1; }
[ -d /dev/shm ] || { echo "SKIP: no /dev/shm"; exit 77; }

# An ASan build: the plugin loads into our instrumented program, but only
# when the registry is scanned in-process (the forked scanner is not
# instrumented).  Leak checking stays on: zb-soak frees everything.  ASan's
# quarantine holds up to 256 MiB of freed memory, so RSS is not judged.
SANITIZED=0
if ldd "$ZB_SOAK" 2>/dev/null | grep -q 'libasan\|libclang_rt.asan'; then
  export GST_REGISTRY_FORK=no
  SANITIZED=1
fi
unset GST_DEBUG GST_DEBUG_FILE GST_TRACERS

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zb-soak.XXXXXX")
NAME="zb-soak-$$-$RANDOM"
PIDS=()

cleanup () {
  local p
  for p in "${PIDS[@]}"; do
    kill -9 "$p" 2>/dev/null
  done
  for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null
  done
  rm -f "/dev/shm/$NAME" "/dev/shm/sem.sem-w-$NAME" \
    "/dev/shm/sem.sem-r-$NAME" "/tmp/zerobuffer/$NAME.lock"
  rm -rf "$WORK"
}
trap cleanup EXIT

fail () {
  local f
  echo "FAIL: $*" >&2
  for f in "$WORK"/*.out "$WORK"/*.err; do
    [ -s "$f" ] || continue
    echo "---- $(basename "$f")" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}

now_us () {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((10#$t))
}

# wait_exit PID SECONDS: sets RC; returns 1 if PID still runs at the end.
wait_exit () {
  local deadline=$(( $(now_us) + $2 * 1000000 ))
  while kill -0 "$1" 2>/dev/null; do
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
  wait "$1"
  RC=$?
}

# val ROLE KEY: KEY=... from ROLE's result line.
val () {
  sed -n "s/^result .* $2=\([^ ]*\).*/\1/p" "$WORK/$1.out"
}

# Ten RSS samples; the first one ends the warm-up.
RSS_EVERY=$((FRAMES / 10 > 0 ? FRAMES / 10 : 1))
# zerosink's compact-window (SOAK_COMPACT bytes; 0, the default, is off and
# checks every frame's place against a simulation of the sequential ring;
# on, e.g. a quarter of RING, placement depends on the reader's timing and
# only the frames are checked).
COMPACT=${SOAK_COMPACT:-0}
ARGS=(--name "$NAME" --frames "$FRAMES" --ring "$RING" --seed "$SEED"
  --timeout "$TIMEOUT" --rss-every "$RSS_EVERY" --compact "$COMPACT")

# Writing the registry once up front keeps the two processes from racing
# to create it, and checks that the plugins load.
"$ZB_SOAK" --role scan >"$WORK/scan.out" 2>"$WORK/scan.err" \
  || fail "zb-soak cannot load the elements it needs"

T0=$(now_us)
"$ZB_SOAK" --role reader "${ARGS[@]}" >"$WORK/reader.out" \
  2>"$WORK/reader.err" &
READER=$!
PIDS+=("$READER")
deadline=$(( $(now_us) + 60 * 1000000 ))
until [ -e "/dev/shm/$NAME" ] && [ -e "/dev/shm/sem.sem-r-$NAME" ]; do
  kill -0 "$READER" 2>/dev/null || fail "reader exited before creating $NAME"
  [ "$(now_us)" -lt "$deadline" ] || fail "reader did not create $NAME in 60 s"
  sleep 0.01
done
"$ZB_SOAK" --role writer "${ARGS[@]}" >"$WORK/writer.out" \
  2>"$WORK/writer.err" &
WRITER=$!
PIDS+=("$WRITER")

wait_exit "$WRITER" $((TIMEOUT + 60)) || fail "writer still running"
WRC=$RC
wait_exit "$READER" 60 || fail "reader still running 60 s after the writer"
RRC=$RC
T1=$(now_us)
PIDS=()

for f in "/dev/shm/$NAME" "/dev/shm/sem.sem-w-$NAME" \
    "/dev/shm/sem.sem-r-$NAME" "/tmp/zerobuffer/$NAME.lock"; do
  [ ! -e "$f" ] || fail "left behind: $f"
done
for r in writer reader; do
  grep -q '^result ' "$WORK/$r.out" || fail "$r printed no result"
done

WALL_US=$((T1 - T0))
problems=()
declare -A GROWTH
[ "$WRC" -eq 0 ] || problems+=("writer exited $WRC")
[ "$RRC" -eq 0 ] || problems+=("reader exited $RRC")
for r in writer reader; do
  [ "$(val $r frames)" = "$FRAMES" ] \
    || problems+=("$r: $(val $r frames) frames, expected $FRAMES")
  [ "$(val $r errors)" = 0 ] || problems+=("$r: $(val $r errors) errors")
  growth=$(sed -n 's/^rss .* vmrss_kb=\([0-9]*\).*/\1/p' "$WORK/$r.out" \
    | awk '{ v[NR] = $1 } END {
      h = int(NR / 2)
      for (i = 1; i <= NR; i++)
        if (i <= h) { if (v[i] > a) a = v[i] } else if (v[i] > b) b = v[i]
      print (h > 0 ? b - a : 0) }')
  GROWTH[$r]=$growth
  [ "$SANITIZED" = 1 ] || [ "$growth" -le "$SLACK_KB" ] \
    || problems+=("$r: RSS grew $growth KiB after warm-up (> $SLACK_KB)")
done
for r in writer reader; do
  # UBSan reports and goes on; ASan aborts (a non-zero exit above).
  ! grep -q 'runtime error:\|Sanitizer' "$WORK/$r.err" \
    || problems+=("$r: sanitizer report on stderr")
done
[ "$(val writer bytes)" = "$(val reader bytes)" ] \
  || problems+=("bytes: writer $(val writer bytes), reader $(val reader bytes)")
[ "$(val writer checksum)" = "$(val reader checksum)" ] \
  || problems+=("checksums differ")

row () {
  printf '  %-30s %20s %20s\n' "$@"
}
fps () {
  awk -v n="$FRAMES" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'
}

echo "soak: $FRAMES frames, ring $(val reader ring) bytes (largest frame" \
  "$(val reader max_frame)), seed $SEED, buffer $NAME"
row "" writer reader
row frames "$(val writer frames)" "$(val reader frames)"
row "payload bytes" "$(val writer bytes)" "$(val reader bytes)"
row errors "$(val writer errors)" "$(val reader errors)"
row "aggregate checksum" "$(val writer checksum)" "$(val reader checksum)"
row "wall time (s)" "$(val writer wall_s)" "$(val reader wall_s)"
row "frames/s" "$(fps "$(val writer wall_s)")" "$(fps "$(val reader wall_s)")"
row "VmRSS first frame (KiB)" "$(val writer rss_first_kb)" \
  "$(val reader rss_first_kb)"
row "VmRSS after warm-up (KiB)" "$(val writer rss_warm_kb)" \
  "$(val reader rss_warm_kb)"
row "VmRSS end (KiB)" "$(val writer rss_end_kb)" "$(val reader rss_end_kb)"
row "VmRSS max (KiB)" "$(val writer rss_max_kb)" "$(val reader rss_max_kb)"
row "end - after warm-up (KiB)" \
  $(($(val writer rss_end_kb) - $(val writer rss_warm_kb))) \
  $(($(val reader rss_end_kb) - $(val reader rss_warm_kb)))
row "growth: peak 2nd - 1st half" "${GROWTH[writer]}" "${GROWTH[reader]}"
echo "  frame sizes: small $(val writer small), 257-4096 B $(val writer mid)," \
  "4097-65536 B $(val writer medium), aimed at the ring end" \
  "$(val writer tail), within 64 B of the largest $(val writer big)"
[ "$COMPACT" -eq 0 ] || echo "  compact-window=$COMPACT: where frames went" \
  "depended on the reader; the placement line is the sequential model's"
echo "  placement: early wraps avoiding a 1-15 byte tail" \
  "$(val writer early_wraps) (by tail 1..15: $(val writer tails))," \
  "frames ending exactly at the ring end $(val writer exact_ends)," \
  "wrap markers $(val writer marker_wraps)"
echo "  VmRSS samples (every $RSS_EVERY frames):"
grep -h '^rss ' "$WORK/writer.out" "$WORK/reader.out" | sed 's/^/    /'
awk -v us="$WALL_US" -v n="$FRAMES" 'BEGIN {
  printf "  total wall time %.1f s, %.0f frames/s end to end\n",
    us / 1e6, n / (us / 1e6) }'

if [ ${#problems[@]} -gt 0 ]; then
  fail "$(printf '%s; ' "${problems[@]}")"
fi
if [ "$SANITIZED" = 1 ]; then
  echo "PASS: no errors, no sanitizer report, checksums match, nothing left" \
    "in /dev/shm (RSS not judged under ASan)"
else
  echo "PASS: no errors, checksums match, RSS flat (growth <= $SLACK_KB KiB)," \
    "nothing left in /dev/shm"
fi
