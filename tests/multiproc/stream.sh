#!/bin/bash
# Two processes move 200,000 frames of mixed odd sizes through a 64 KiB ring
# and check every byte.  Variant (first argument):
#   copy       zb_writer_write, each frame released at once
#   hold       the reader keeps up to 16 frames and releases them in random
#              order while the writer keeps writing (each held frame is
#              checked again when released, so an overwrite would show)
#   zero-copy  the writer uses reserve/commit
#
# Why these sizes: the writer's placement depends only on the frame sizes
# (never on timing), so the wrap pattern is deterministic.  With this list
# (13 sizes, 16422 ring bytes per cycle) 200,000 frames wrap the ring 3970
# times; 496 of those wraps happen because placing the frame would have left
# a 1..15-byte tail (the writer wraps early with a marker), and 497 frames
# end exactly at the ring's end (write_pos == P, next frame at 0 without a
# marker).  The writer tool simulates the placement rule, compares the
# simulated final position with the ring's real payload_write_pos, and
# prints the counts; the test asserts they match the library's own wrap
# count, so the numbers describe what really happened.
source "$(dirname "$0")/common.sh"

VARIANT=${1:-copy}
SIZES=1,7,13,31,100,333,1021,4093,2047,8191,21,99,257
FRAMES=200000
META='{"type": "zerobuffer-test", "variant": "'$VARIANT'"}'

reader_args=()
writer_args=()
case $VARIANT in
  copy) ;;
  hold) reader_args+=(--hold 16) ;;
  zero-copy) writer_args+=(--zero-copy) ;;
  *) fail "unknown variant $VARIANT" ;;
esac

new_name "stream-$VARIANT"
start reader "$ZB" read "$NAME" --payload-size 64K --metadata-size 256 \
  --verify sequential --sizes "$SIZES" --timeout 30 "${reader_args[@]}"
READER=$PID
wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"

start writer "$ZB" write "$NAME" --frames $FRAMES --sizes "$SIZES" \
  --pattern sequential --metadata "$META" --timeout 30 "${writer_args[@]}"
WRITER=$PID

wait_exit "$WRITER" 120 || fail "writer still running after 120 s"
WRC=$RC
wait_exit "$READER" 30 || fail "reader still running 30 s after the writer"
RRC=$RC

[ "$WRC" -eq 0 ] || fail "writer exited $WRC"
[ "$RRC" -eq 0 ] || fail "reader exited $RRC"
[ ! -s "$WORK/writer.err" ] || fail "writer printed errors"
[ ! -s "$WORK/reader.err" ] || fail "reader printed errors"

expect_field writer frames $FRAMES
expect_field writer end done
expect_field writer model ok
expect_field writer wraps "$(field writer model_wraps)"
expect_field writer short_tails 496
expect_field writer exact_ends 497
[ "$(field writer wraps)" -ge 1000 ] || fail "only $(field writer wraps) wraps"

expect_field reader frames $FRAMES
expect_field reader bytes "$(field writer bytes)"
expect_field reader errors 0
expect_field reader end eos
grep -qF "metadata: $META" "$WORK/reader.out" || fail "metadata not seen"

if [ "$VARIANT" = hold ]; then
  # Out-of-order releases must really have happened, many times.
  ooo=$(field reader out_of_order)
  [ "$ooo" -ge 1000 ] || fail "only $ooo out-of-order releases"
fi

assert_clean "$NAME"
echo "ok: $(grep ^summary "$WORK/writer.out")"
echo "ok: $(grep ^summary "$WORK/reader.out")"
