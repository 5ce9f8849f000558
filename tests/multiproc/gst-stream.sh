#!/bin/bash
# gst-launch to gst-launch: videotestsrc ! zerosink in one process,
# zerosrc ! checksumsink in another.  The receiver must get exactly the 300
# frames a local videotestsrc ! checksumsink run gives (same SHA-1 and the
# same PTS, which zerosrc re-makes from the framerate), then EOS, and both
# processes must exit 0 and leave nothing behind.  Variant:
#   zero-copy  videotestsrc writes into zerosink's ring pool and zerosrc lends
#              ring memory: every frame in place, none copied
#   copy       identity drop-allocation=true hides the pool and zerosrc has
#              evacuate-threshold=0: every frame copied once on each side
VARIANT=${1:-zero-copy}
source "$(dirname "$0")/gst-common.sh"

FRAMES=300
CAPS="video/x-raw,format=RGB,width=320,height=240"
case $VARIANT in
  zero-copy) mid=() src_opts=() in_place=$FRAMES copied=0 ;;
  copy) mid=(! identity drop-allocation=true) src_opts=(evacuate-threshold=0)
    in_place=0 copied=$FRAMES ;;
  *) fail "unknown variant $VARIANT" ;;
esac

# The reference: the same source, no transport.
"${GST_LAUNCH_CMD[@]}" -q videotestsrc num-buffers=$FRAMES ! "$CAPS" \
  ! checksumsink hash=sha1 sync=false >"$WORK/ref.out" 2>"$WORK/ref.err" \
  || fail "reference pipeline failed"
checksums ref >"$WORK/expected"
[ "$(wc -l <"$WORK/expected")" -eq $FRAMES ] || fail "reference gave \
$(wc -l <"$WORK/expected") checksums, expected $FRAMES"

new_name gst-stream
T0=$(now_us)
gst_start rx -v zerosrc buffer-name="$NAME" "${src_opts[@]}" \
  ! checksumsink hash=sha1 sync=false
RX=$PID
wait_shm "$NAME" "$RX" 10 || fail "zerosrc did not create /dev/shm/$NAME"

# -v prints zerosink's counters at end of stream: how the frames went in.
gst_start tx -v videotestsrc num-buffers=$FRAMES \
  ! "$CAPS" "${mid[@]}" ! zerosink buffer-name="$NAME" sync=false
TX=$PID

expect_exit "$TX" 60 0 "writer (zerosink)"
expect_exit "$RX" 30 0 "reader (zerosrc)"
echo "300 frames end to end in $(ms_between "$T0" "$(now_us)") ms"

expect_no_error tx
expect_no_error rx
expect_log rx '^Got EOS from element "pipeline0"'

checksums rx >"$WORK/got"
if ! cmp -s "$WORK/expected" "$WORK/got"; then
  n=$(wc -l <"$WORK/got")
  if cmp -s <(cut -d' ' -f2 "$WORK/expected") <(cut -d' ' -f2 "$WORK/got"); then
    fail "frames identical but timestamps differ"
  fi
  fail "received $n frames; checksums differ from the reference:
$(diff "$WORK/expected" "$WORK/got" | head -n 6)"
fi

# The caps crossed in the metadata: zerosrc's pad has the writer's caps.
[ "$(pad_caps rx zerosrc0 src)" = "$(pad_caps rx checksumsink0 sink)" ] \
  || fail "zerosrc and checksumsink caps differ"
want="video/x-raw, format=(string)RGB, width=(int)320, height=(int)240,"
want+=" framerate=(fraction)30/1"
case $(pad_caps rx zerosrc0 src) in
  "$want"*) ;;
  *) fail "zerosrc caps: $(pad_caps rx zerosrc0 src)" ;;
esac

# Which path each side took: the elements' own counters.
expect_log tx "zerosink0: frames-written = $FRAMES\$"
n=$(sed -n 's/^.*zerosink0: frames-copied = \([0-9]*\)$/\1/p' "$WORK/tx.out" \
  | tail -n 1)
[ "${n:-none}" = "$((FRAMES - in_place))" ] || fail "zerosink copied \
${n:-an unknown number of} frames, expected $((FRAMES - in_place))"
expect_log rx "zerosrc0: frames-received = $FRAMES\$"
expect_log rx "zerosrc0: frames-copied = $copied\$"

assert_clean "$NAME"
echo "ok: $FRAMES frames identical to the reference ($VARIANT)"
