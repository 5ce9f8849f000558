#!/usr/bin/env bash
# The main job: a real two-process video stream through zerosink -> zerosrc.
#
#   receiver: zerosrc buffer-name=N ! checksumsink          (creates the buffer)
#   sender:   videotestsrc num-buffers=K ! video/x-raw,... ! zerosink buffer-name=N
#
# videotestsrc is deterministic, so the same source run into a local
# checksumsink gives the reference.  The demo checks that the receiver got
# every frame, byte-identical and in order, that EOS crossed the process
# boundary (the receiver exits 0 on its own), and that nothing is left in
# /dev/shm.  Usage: scripts/demo.sh [frames] [WxH] [format]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
frames=${1:-300}
size=${2:-1280x720}
format=${3:-RGB}
w=${size%x*}; h=${size#*x}

scripts/install-deps.sh
build=$top/build
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" >/dev/null

export GST_PLUGIN_PATH_1_0=$build/gst
export GST_REGISTRY_1_0=$build/demo-registry.bin
name="demo-$$"
caps="video/x-raw,format=$format,width=$w,height=$h,framerate=30/1"
tmp=$(mktemp -d)
trap 'kill $rx_pid $tx_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
rx_pid=""; tx_pid=""

echo "demo: $frames frames of ${w}x${h} $format through buffer '$name'"
gst-launch-1.0 -q videotestsrc num-buffers="$frames" pattern=ball ! "$caps" \
  ! checksumsink hash=sha1 | awk '{print $2}' > "$tmp/expected"

start=$(date +%s.%N)
gst-launch-1.0 -q zerosrc buffer-name="$name" payload-size=64M \
  ! checksumsink hash=sha1 sync=false > "$tmp/rx.out" 2> "$tmp/rx.err" &
rx_pid=$!
# Wait for the receiver's buffer to exist rather than sleeping.
for _ in $(seq 1 200); do
  [ -e "/dev/shm/$name" ] && break
  kill -0 "$rx_pid" 2>/dev/null || break
  sleep 0.05
done
[ -e "/dev/shm/$name" ] || { echo "demo: receiver did not start"; cat "$tmp/rx.err"; exit 1; }

gst-launch-1.0 -q videotestsrc num-buffers="$frames" pattern=ball ! "$caps" \
  ! zerosink buffer-name="$name" sync=false > "$tmp/tx.out" 2> "$tmp/tx.err" &
tx_pid=$!
tx_rc=0; wait "$tx_pid" || tx_rc=$?
rx_rc=0; wait "$rx_pid" || rx_rc=$?
tx_pid=""; rx_pid=""
end=$(date +%s.%N)

awk '{print $2}' "$tmp/rx.out" > "$tmp/got"
got=$(wc -l < "$tmp/got")
ok=1
[ "$tx_rc" -eq 0 ] || { echo "demo: sender exited $tx_rc"; cat "$tmp/tx.err"; ok=0; }
[ "$rx_rc" -eq 0 ] || { echo "demo: receiver exited $rx_rc"; cat "$tmp/rx.err"; ok=0; }
if cmp -s "$tmp/expected" "$tmp/got"; then
  echo "demo: verified $got/$frames frames byte-identical (SHA-1 per frame) and in order"
else
  echo "demo: MISMATCH: received $got frames, $(diff "$tmp/expected" "$tmp/got" | grep -c '^[<>]') lines differ"
  ok=0
fi
[ "$rx_rc" -eq 0 ] && echo "demo: EOS crossed the process boundary: the receiver ended on its own"
left=$(ls /dev/shm | grep -F "$name" || true)
if [ -n "$left" ]; then echo "demo: left behind in /dev/shm: $left"; ok=0; else echo "demo: nothing left in /dev/shm"; fi
awk -v s="$start" -v e="$end" -v n="$got" -v w="$w" -v h="$h" \
  'BEGIN { t = e - s; printf "demo: %.2f s wall, %.0f frames/s end to end (incl. start-up)\n", t, n / t }'
[ "$ok" -eq 1 ] && echo "demo: PASS" || { echo "demo: FAIL"; exit 1; }
