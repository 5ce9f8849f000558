#!/bin/bash
# A reader that stops reading (the tool with --stall-after 1) leaves
# zerosink a full ring.  Variant:
#   drop     on-full=drop: zerosink never waits; of 50 frames, every one is
#            either written or counted in frames-dropped, EOS still reaches
#            the end and gst-launch exits 0 at once
#   timeout  write-timeout=500: gst-launch fails with "stayed full for 500 ms"
#            no sooner than 500 ms and within 5 s (times SCALE) of the ring
#            filling
# Either way the writer detaches (the reader sees no writer) and the
# reader's SIGINT then removes every object.
VARIANT=${1:-drop}
source "$(dirname "$0")/gst-common.sh"

FRAMES=50
CAPS="video/x-raw,format=RGB,width=320,height=240"

case $VARIANT in
  drop) sink_opts=(on-full=drop) ;;
  timeout) sink_opts=(write-timeout=500) ;;
  *) fail "unknown variant $VARIANT" ;;
esac

new_name "gst-full-$VARIANT"
start reader "$ZB" read "$NAME" --payload-size 1M --metadata-size 4K \
  --stall-after 1
READER=$PID
wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"

T0=$(now_us)
gst_start tx -v videotestsrc num-buffers=$FRAMES \
  ! "$CAPS" ! zerosink buffer-name="$NAME" sync=false "${sink_opts[@]}"
TX=$PID

if [ "$VARIANT" = drop ]; then
  expect_exit "$TX" 30 0 "zerosink pipeline"
  echo "gst-launch done after $(ms_between "$T0" "$EXIT_US") ms"
  expect_no_error tx
  expect_log tx '^Got EOS from element "pipeline0"'
  # zerosink's counters, printed by -v.
  written=$(sed -n 's/^.*zerosink0: frames-written = \([0-9]*\)$/\1/p' \
    "$WORK/tx.out" | tail -n 1)
  written=${written:-0}
  dropped=$(sed -n 's/^.*zerosink0: frames-dropped = \([0-9]*\)$/\1/p' \
    "$WORK/tx.out" | tail -n 1)
  echo "written $written, dropped ${dropped:-0}"
  [ $((written + ${dropped:-0})) -eq $FRAMES ] \
    || fail "written $written + dropped ${dropped:-0} != $FRAMES"
  # A 1 MiB ring holds four of these frames: the rest must have dropped.
  [ "${dropped:-0}" -ge $((FRAMES - 10)) ] || fail "only ${dropped:-0} dropped"
else
  wait_line reader '^stalled: ' 20 || fail "reader never got a frame"
  wait_info_le "$NAME" payload_free_bytes $((320 * 240 * 3 + 15)) 20 \
    || fail "the ring never filled up"
  T1=$(now_us)
  expect_exit "$TX" 30 nonzero "zerosink pipeline"
  ms=$(ms_between "$T1" "$EXIT_US")
  echo "gst-launch failed $ms ms after the ring was seen full"
  [ "$ms" -le $((5000 * SCALE)) ] || fail "took $ms ms for write-timeout=500"
  [ "$(ms_between "$T0" "$EXIT_US")" -ge 500 ] \
    || fail "failed before write-timeout passed"
  expect_msg tx ERROR zerosink0 "Buffer \"$NAME\" stayed full for 500 ms"
fi

kill -0 "$READER" 2>/dev/null || fail "the reader died"
"$ZB" info "$NAME" >"$WORK/info.out" 2>&1 || fail "info failed"
grep -qE '^writer_pid: 0 \(none\)$' "$WORK/info.out" \
  || fail "writer still attached: $(grep writer_pid "$WORK/info.out")"
kill -INT "$READER"
expect_exit "$READER" 10 130 "stalled reader after SIGINT"
assert_clean "$NAME"
echo "ok: $VARIANT"
