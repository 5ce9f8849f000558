#!/bin/bash
# A hostile peer (zb-hostile, raw POSIX calls, no libzerobuffer) writes bad
# values into the shared memory of a zerosink or zerosrc running in its own
# gst-launch-1.0 process.  For every CASE the element must post an ERROR
# naming the buffer with a clear cause, gst-launch must exit non-zero on its
# own within BOUND_S seconds, 5 times SCALE (no signal, no hang, no
# sanitizer report), and
# nothing of the buffer may be left in /dev/shm or /tmp/zerobuffer.
#
#   sink-*  zb-hostile plays the reader that zerosink connects to:
#     oieb-size      header size 64 instead of 128
#     version        major version 2
#     payload-size   payload size near 2^64 (128 + M + P wraps to 0)
#     metadata-size  metadata size near 2^64 (same wrap)
#     payload-sum    each size fits the mapping, their sum does not
#     write-pos      payload_write_pos past the end of the ring
#     meta-len       metadata already there, its length prefix near 2^64
#     free-bytes     once frames flow, payload_free_bytes = twice the ring
#   src-*   zb-hostile plays the writer of a zerosrc's buffer:
#     hdr-past-end   a header whose frame runs one byte past the ring's end
#     hdr-overflow   header sizes near 2^64, where pos + 16 + size wraps
#     free-bytes     after frame 1, payload_free_bytes = twice the ring
#     seq-jump       frame 1, then frame 5
#     wrap-at-0      a wrap marker at offset 0
#     wrap-early     a wrap marker mid-ring with only a frame's worth of
#                    bytes published behind it (a real wrap gives up the
#                    whole tail)
#     count-no-frame a frame counted and published where the ring is zero
#     meta-len       a metadata length prefix near 2^64
#     meta-written   metadata_written_bytes larger than the block
CASE=${1:?usage: gst-hostile.sh CASE}
VARIANT=$CASE
source "$(dirname "$0")/gst-common.sh"

: "${ZB_HOSTILE:?set ZB_HOSTILE to the zb-hostile helper (meson does)}"
[ -x "$ZB_HOSTILE" ] || fail "$ZB_HOSTILE is not executable"

BOUND_S=$((5 * SCALE))
CAPS="video/x-raw,format=GRAY8,width=16,height=16,framerate=30/1"
# @N@ in a message stands for the buffer's name.
HEADER='Buffer "@N@" has an invalid or incompatible header'

# The element's process ended normally and said nothing alarming.
expect_clean_exit () {
  [ "$RC" -ne 0 ] || fail "$1: gst-launch exited 0 after the bad value"
  [ "$RC" -lt 128 ] || fail "$1: gst-launch killed by signal $((RC - 128))"
  ! grep -qE 'Sanitizer|runtime error:' "$WORK/$1.err" \
    || fail "$1: sanitizer report"
}

# gst-launch-1.0 1.22 loses an error posted before it runs its main loop
# (see docs/elements.md).  With async=false on the sink the pipeline goes
# to PLAYING at once, and gst-launch prints that from its main loop: only
# then does the hostile peer show up.
wait_playing () {
  wait_line "$1" '^Setting pipeline to PLAYING' 10 \
    || fail "$1: gst-launch never reached PLAYING"
}

# run_sink CASE MESSAGE DETAIL: zerosink waits for its reader, then the
# hostile reader appears.
run_sink () {
  local c=$1 msg=$2 detail=$3 tx hr t0 ms go
  new_name "hostile-$c"
  msg=${msg//@N@/$NAME}
  go="$WORK/go-$NAME"
  gst_start "tx-$c" videotestsrc ! "$CAPS" ! zerosink buffer-name="$NAME" \
    connect-timeout=20000 sync=false async=false
  tx=$PID
  wait_playing "tx-$c"

  start "hr-$c" "$ZB_HOSTILE" reader "$NAME" "$c" "$go"
  hr=$PID
  if [ "$c" = free-bytes ]; then
    wait_line "hr-$c" '^injected$' 10 || fail "hr-$c: zerosink never wrote"
  else
    wait_line "hr-$c" '^ready$' 10 || fail "hr-$c: hostile reader not ready"
  fi
  t0=$(now_us)
  wait_exit "$tx" "$BOUND_S" \
    || fail "tx-$c: zerosink still running $BOUND_S s after the bad value"
  ms=$(ms_between "$t0" "$EXIT_US")
  expect_clean_exit "tx-$c"
  expect_msg "tx-$c" ERROR zerosink0 "$msg"
  expect_log "tx-$c" "$NAME: $detail"

  touch "$go"
  wait_exit "$hr" 10 || fail "hr-$c: hostile reader did not finish"
  [ "$RC" -eq 0 ] || fail "hr-$c: exited $RC"
  assert_clean "$NAME"
  echo "ok: $c: zerosink failed after $ms ms"
}

# run_src CASE DETAIL [SIZE]: zerosrc creates the buffer, the hostile
# writer attaches and misbehaves.
run_src () {
  local c=$1 detail=$2 arg=${3:-} rx hw t0 ms
  new_name "hostile-$c"
  gst_start "rx-$c$arg" zerosrc buffer-name="$NAME" payload-size=64K \
    metadata-size=4K ! fakesink sync=false async=false
  rx=$PID
  wait_shm "$NAME" "$rx" 10 || fail "zerosrc did not create /dev/shm/$NAME"
  wait_playing "rx-$c$arg"

  start "hw-$c$arg" "$ZB_HOSTILE" writer "$NAME" "$c" $arg
  hw=$PID
  wait_line "hw-$c$arg" '^sent$' 10 || fail "hw-$c$arg: nothing sent"
  t0=$(now_us)
  wait_exit "$rx" "$BOUND_S" \
    || fail "rx-$c$arg: zerosrc still running $BOUND_S s after the bad value"
  ms=$(ms_between "$t0" "$EXIT_US")
  expect_clean_exit "rx-$c$arg"
  expect_msg "rx-$c$arg" ERROR zerosrc0 "Buffer \"$NAME\" is corrupt"
  expect_log "rx-$c$arg" "$NAME: $detail"

  wait_exit "$hw" 10 || fail "hw-$c$arg: hostile writer did not finish"
  [ "$RC" -eq 0 ] || fail "hw-$c$arg: exited $RC"
  assert_clean "$NAME"
  echo "ok: $c $arg: zerosrc failed after $ms ms"
}

case $CASE in
  sink-oieb-size)
    run_sink oieb-size "$HEADER" 'header size 64,' ;;
  sink-version)
    run_sink version "$HEADER" 'header size 128, version 2\.' ;;
  sink-write-pos)
    run_sink write-pos "$HEADER" \
      'payload_write_pos 65600 is past the 65536-byte ring' ;;
  sink-payload-size|sink-metadata-size|sink-payload-sum)
    run_sink "${CASE#sink-}" "$HEADER" \
      'header claims metadata [0-9]+ \+ payload [0-9]+ bytes but the shared' ;;
  sink-meta-len)
    run_sink meta-len 'Buffer "@N@" holds corrupt metadata' \
      'metadata length 18446744073709551608 is longer than the 24 bytes' ;;
  sink-free-bytes)
    run_sink free-bytes 'Could not write to buffer "@N@": corrupt' \
      'payload_free_bytes [0-9]+ is larger than the 65536-byte ring' ;;
  src-hdr-past-end)
    run_src hdr-past-end 'frame of 65441 bytes at offset 80 runs past' ;;
  src-hdr-overflow)
    # 2^64-1, 2^64-16, 2^63, and 2^64-96: 80 + 16 + size is exactly 2^64.
    for size in 18446744073709551615 18446744073709551600 \
        9223372036854775808 18446744073709551520; do
      run_src hdr-overflow "frame of $size bytes at offset 80 runs past" \
        "$size"
    done ;;
  src-free-bytes)
    run_src free-bytes 'payload_free_bytes [0-9]+ is more than the ring' ;;
  src-seq-jump)
    run_src seq-jump 'sequence jump: expected frame 2, found 5 at offset 80' ;;
  src-wrap-at-0)
    run_src wrap-at-0 'wrap marker at offset 0' ;;
  src-wrap-early)
    run_src wrap-early 'wrap marker at offset 80' ;;
  src-count-no-frame)
    run_src count-no-frame '(wrap marker|zero-size frame) at offset 0' ;;
  src-meta-len)
    run_src meta-len 'metadata length 18446744073709551608 is longer than' ;;
  src-meta-written)
    run_src meta-written 'metadata_written_bytes 4104 does not fit the 4096' ;;
  *) fail "unknown case $CASE" ;;
esac
