#!/bin/bash
# Ctrl-C (SIGINT) of gst-launch while an element is blocked in a wait that
# only unlock() can end.  gst-launch must exit within 5 s (times SCALE: a
# stop must never hang) with no element error (stopping is not a failure),
# and the side that owns the buffer's objects must leave none behind.  That
# the element waits is seen from outside: its streaming thread asleep (see
# wait_thread_asleep), never its debug log.  Variant:
#   src-wait   zerosrc waits for a writer that never comes; it owns the
#              objects, so after the exit there are none
#   sink-wait  zerosink (connect-timeout=-1) waits for a reader that never
#              comes; it must not create anything under the name
#   sink-full  zerosink blocks on a full ring (the reader, the tool with
#              --stall-after 1, stops reading); after the exit the reader is
#              untouched and sees the writer detached; its own SIGINT then
#              removes everything.  videotestsrc renders into zerosink's
#              pool, so the wait is in the pool's acquire
#   sink-full-copy  the same with identity drop-allocation=true in front,
#              so the wait is in render, copying the frame in
#   sink-eos   gst-launch -e: Ctrl-C sends EOS, so the tool reading from
#              zerosink gets a clean end of stream and exits 0
VARIANT=${1:-src-wait}
source "$(dirname "$0")/gst-common.sh"

BOUND_MS=$((5000 * SCALE))
CAPS="video/x-raw,format=RGB,width=320,height=240"
FRAME=$((320 * 240 * 3))

# interrupt PID LOG: SIGINT, then the bound and a clean shutdown.
interrupt () {
  wait_sigint_handler "$1" 10 || fail "$2: gst-launch never caught SIGINT"
  kill -INT "$1"
  T0=$(now_us)
  wait_exit "$1" $((BOUND_MS / 1000 + 10)) \
    || fail "$2: gst-launch still running $((BOUND_MS / 1000 + 10)) s after" \
      "SIGINT"
  ms=$(ms_between "$T0" "$EXIT_US")
  echo "$2: gst-launch exited $RC, $ms ms after SIGINT"
  [ "$ms" -le "$BOUND_MS" ] || fail "$2: took $ms ms (bound $BOUND_MS)"
  [ "$RC" -eq 0 ] || fail "$2: gst-launch exited $RC after SIGINT"
  expect_log "$2" '^Interrupt: Stopping pipeline'
  expect_no_error "$2"
}

case $VARIANT in
  src-wait)
    new_name gst-sig-src-wait
    gst_start rx zerosrc buffer-name="$NAME" ! fakesink
    RX=$PID
    wait_shm "$NAME" "$RX" 10 || fail "zerosrc did not create /dev/shm/$NAME"
    # With the buffer made and no writer, zerosrc's thread can only sleep
    # in its wait for a writer.
    wait_thread_asleep "$RX" zerosrc0:src 10 \
      || fail "zerosrc does not wait for a writer"
    assert_exists "$NAME"
    interrupt "$RX" rx
    assert_clean "$NAME"
    ;;

  sink-wait)
    new_name gst-sig-sink-wait
    gst_start tx videotestsrc ! "$CAPS" \
      ! zerosink buffer-name="$NAME" connect-timeout=-1 sync=false
    TX=$PID
    # start() tries once and finds no reader; then set_caps waits, in the
    # streaming thread, while gst-launch runs its preroll loop.
    # videotestsrc never sleeps by itself (not live, no clock): its thread
    # asleep is zerosink waiting for a reader.
    wait_in tx.out "^Pipeline is PREROLLING" 10 || fail "no preroll"
    wait_thread_asleep "$TX" videotestsrc0:src 10 \
      || fail "zerosink does not wait for a reader"
    interrupt "$TX" tx
    assert_clean "$NAME"
    ;;

  sink-full|sink-full-copy)
    mid=()
    [ "$VARIANT" = sink-full-copy ] && mid=(! identity drop-allocation=true)
    new_name "gst-sig-$VARIANT"
    start reader "$ZB" read "$NAME" --payload-size 1M --metadata-size 4K \
      --stall-after 1
    READER=$PID
    wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"
    gst_start tx videotestsrc ! "$CAPS" "${mid[@]}" \
      ! zerosink buffer-name="$NAME" sync=false
    TX=$PID
    wait_line reader '^stalled: ' 20 || fail "reader never got a frame"
    # Full: not even one more frame (plus its header) fits.
    wait_info_le "$NAME" payload_free_bytes $((FRAME + 15)) 20 \
      || fail "the ring never filled up"
    kill -0 "$TX" 2>/dev/null || fail "writer ended on a full ring"
    interrupt "$TX" tx
    # The reader owns the objects: still there, and the writer detached.
    kill -0 "$READER" 2>/dev/null || fail "the reader died with the writer"
    assert_exists "$NAME"
    "$ZB" info "$NAME" >"$WORK/info.out" 2>&1 || fail "info failed"
    grep -qE '^writer_pid: 0 \(none\)$' "$WORK/info.out" \
      || fail "writer still attached: $(grep writer_pid "$WORK/info.out")"
    kill -INT "$READER"
    expect_exit "$READER" 10 130 "stalled reader after SIGINT"
    assert_clean "$NAME"
    ;;

  sink-eos)
    new_name gst-sig-sink-eos
    start reader "$ZB" read "$NAME" --payload-size 4M --metadata-size 4K \
      --timeout 30
    READER=$PID
    wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"
    gst_start tx -e videotestsrc ! "$CAPS" ! zerosink buffer-name="$NAME" \
      sync=false
    TX=$PID
    wait_info "$NAME" payload_read_count 50 20 || fail "no frames flowing"
    interrupt "$TX" tx
    expect_log tx '^Got EOS from element "pipeline0"'
    expect_exit "$READER" 10 0 "reader after the writer's EOS"
    expect_field reader end eos
    expect_field reader errors 0
    [ "$(field reader frames)" -ge 50 ] || fail "reader got too few frames"
    [ "$(field reader bytes)" -eq $(( $(field reader frames) * FRAME )) ] \
      || fail "reader got a partial frame"
    assert_clean "$NAME"
    ;;

  *) fail "unknown variant $VARIANT" ;;
esac
echo "ok: $VARIANT"
