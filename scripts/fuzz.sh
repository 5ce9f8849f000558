#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in
# build-fuzz and runs each one for SECONDS (default 60), one at a time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: reader writer parse
#
# The corpus grows in build-fuzz/fuzz-corpus/TARGET across runs and starts
# from the generated seeds.  A crash, hang (> 5 s per input), leak or a
# failed check ("FUZZ CHECK FAILED") is a finding: its input is saved under
# build-fuzz/fuzz-artifacts/ and the script exits 1.  Replay one with
#   ZBFUZZ_TRACE=1 build-fuzz/tests/fuzz/zbfuzz-TARGET FILE
# ZBFUZZ_KNOWN_BUGS (see tests/fuzz/fuzz-common.h) tolerates bugs already
# reported, for long local runs.  ZBFUZZ_BUILD overrides the build dir.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-reader writer parse}
build=${ZBFUZZ_BUILD:-$top/build-fuzz}
case $secs in
  ''|*[!0-9]*) echo "usage: $0 [seconds] [reader|writer|parse ...]" >&2
               exit 2 ;;
esac

scripts/install-deps.sh

opts="-Dfuzzing=true -Dgst=disabled -Db_sanitize=address,undefined
  -Db_lundef=false"
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" $opts >/dev/null
else
  CC=clang meson setup "$build" $opts >/dev/null
fi
bins=""
for t in $targets; do
  case $t in
    reader|writer|parse) bins="$bins tests/fuzz/zbfuzz-$t" ;;
    *) echo "unknown target '$t' (reader, writer, parse)" >&2; exit 2 ;;
  esac
done
ninja -C "$build" tests/fuzz/zbfuzz-seeds $bins >/dev/null

# The targets remove their objects at exit and before a failed check; a
# crash inside the library cannot, so remove what dead fuzzers left.
clean_dead() {
  local f b pid
  for f in /dev/shm/zbfz-* /dev/shm/sem.sem-[rw]-zbfz-* \
      /tmp/zerobuffer/zbfz-*.lock; do
    [ -e "$f" ] || continue
    b=${f##*/}
    b=${b#sem.sem-?-}
    pid=$(echo "$b" | cut -d- -f3)
    kill -0 "$pid" 2>/dev/null || rm -f "$f"
  done
}

seeds=$build/fuzz-seeds
rm -rf "$seeds"
"$build/tests/fuzz/zbfuzz-seeds" "$seeds"
mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts" "$build/fuzz-logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
summary=""
for t in $targets; do
  corpus=$build/fuzz-corpus/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$corpus"
  clean_dead
  echo "=== fuzz-$t: $secs s"
  set +e
  # -max_total_time ends the run; the outer timeout only guards against a
  # fuzzer that stops answering altogether.
  timeout -s KILL $((secs + 120)) "$build/tests/fuzz/zbfuzz-$t" \
    -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
    "$corpus" "$seeds/$t" >"$log" 2>&1
  rc=$?
  set -e
  clean_dead
  execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")
  rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -1 \
    || true)
  line="fuzz-$t: ${execs:-?} execs (${rate:-?}/s)${cov:+, $cov}"
  if [ "$rc" -ne 0 ]; then
    failed=1
    line="$line: FINDING (exit $rc)"
    echo "--- fuzz-$t finding (full log: $log)"
    pat='FUZZ CHECK FAILED|last library error|unexpected status|runtime error'
    pat="$pat|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|SUMMARY"
    grep -E "$pat|Test unit written" "$log" | head -20 || true
  fi
  echo "$line"
  summary="$summary$line"$'\n'
done

echo "=== fuzz summary"
printf '%s' "$summary"
exit "$failed"
