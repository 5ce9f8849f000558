#!/bin/bash
# Packed rows across processes: raw video whose GStreamer rows are padded
# (322x240 RGB: 968-byte rows for 966 bytes of pixels; 321x241 I420) goes
# on the wire with rows of exactly width x bytes per pixel, as the
# rocket-welder SDK reshapes it.  Every process exits 0, nothing is left
# behind.  Variant:
#   cli-rgb     videotestsrc ! zerosink -> zerobuffer read --sizes 231840:
#               every frame packed, written in place through zerosink's
#               pool (frames-copied 0)
#   cli-i420    the same for 321x241 I420 (116323-byte frames)
#   cli-padded  zerosink packed-rows=false: GStreamer's 232320-byte frames
#   writer-rgb  zerobuffer write (packed frames of the sequential pattern,
#               caps in the metadata) -> zerosrc ! zerosink -> zerobuffer
#               read --verify sequential: the pattern survives both
#               elements byte for byte, once with the frames lent to
#               zerosink with a video meta (zerosrc frames-copied 0), once
#               through identity drop-allocation=true (zerosrc lays every
#               frame out in GStreamer's layout, zerosink packs it again)
#   writer-i420 the same for 321x241 I420
#   roundtrip-rgb, roundtrip-i420
#               videotestsrc ! zerosink -> zerosrc ! videoconvert in two
#               gst-launch processes: the same checksums as videotestsrc !
#               videoconvert in one, lent with a meta and copied (identity
#               drop-allocation=true).  videoconvert makes BGRA, whose rows
#               are never padded, so the checksums see pixels only
VARIANT=${1:-cli-rgb}
source "$(dirname "$0")/gst-common.sh"

FRAMES=60
case $VARIANT in
  *-rgb|cli-padded)
    CAPS="video/x-raw,format=RGB,width=322,height=240,framerate=30/1"
    PACKED=231840
    PADDED=232320
    ;;
  *-i420)
    CAPS="video/x-raw,format=I420,width=321,height=241,framerate=30/1"
    PACKED=116323
    PADDED=118096
    ;;
  *) fail "unknown variant $VARIANT" ;;
esac

# zerosink's last frames-copied notification (-v prints it at EOS).
copied_of () {
  sed -n "s/^.*$2: frames-copied = \([0-9]*\)\$/\1/p" "$WORK/$1.out" \
    | tail -n 1
}

expect_copied () {
  local n
  n=$(copied_of "$1" "$2")
  [ "${n:-none}" = "$3" ] || fail "$1: $2 copied ${n:-an unknown number \
of} frames, expected $3"
}

case $VARIANT in
  cli-*)
    sink_opts=()
    size=$PACKED
    if [ "$VARIANT" = cli-padded ]; then
      sink_opts=(packed-rows=false)
      size=$PADDED
    fi
    new_name gst-packed
    start reader "$ZB" read "$NAME" --payload-size 4M --metadata-size 4K \
      --timeout 30 --sizes $size
    READER=$PID
    wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"
    gst_start tx -v videotestsrc num-buffers=$FRAMES ! "$CAPS" \
      ! zerosink buffer-name="$NAME" "${sink_opts[@]}" sync=false
    TX=$PID
    expect_exit "$TX" 60 0 "zerosink pipeline"
    expect_exit "$READER" 30 0 "zerobuffer read"
    expect_no_error tx
    expect_field reader frames $FRAMES
    expect_field reader bytes $((FRAMES * size))
    expect_field reader errors 0
    expect_field reader end eos
    # in place through the pool (the padded layout: its own pool, as before)
    expect_copied tx zerosink0 0
    assert_clean "$NAME"
    echo "ok: $FRAMES frames of $size bytes into the tool ($VARIANT)"
    ;;

  writer-*)
    for path in lend copy; do
      mid=()
      copied=0
      if [ $path = copy ]; then
        mid=(! identity drop-allocation=true)
        copied=$FRAMES
      fi
      new_name gst-packed-in
      IN=$NAME
      new_name gst-packed-out
      OUT=$NAME
      start reader "$ZB" read "$OUT" --payload-size 4M --metadata-size 4K \
        --timeout 30 --sizes $PACKED --verify sequential
      READER=$PID
      wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"
      gst_start mid -v zerosrc buffer-name="$IN" "${mid[@]}" \
        ! zerosink buffer-name="$OUT" sync=false
      MID=$PID
      wait_shm "$IN" "$MID" 10 || fail "zerosrc did not create /dev/shm/$IN"
      start writer "$ZB" write "$IN" --frames $FRAMES --size $PACKED \
        --pattern sequential --metadata "$CAPS" --timeout 10
      WRITER=$PID
      expect_exit "$WRITER" 60 0 "zerobuffer write ($path)"
      expect_exit "$MID" 30 0 "zerosrc ! zerosink ($path)"
      expect_exit "$READER" 30 0 "zerobuffer read ($path)"
      expect_no_error mid
      expect_field reader frames $FRAMES
      expect_field reader bytes $((FRAMES * PACKED))
      expect_field reader errors 0
      expect_field reader end eos
      expect_copied mid zerosrc0 $copied
      assert_clean "$IN"
      assert_clean "$OUT"
      mv "$WORK/reader.out" "$WORK/reader-$path.out"
    done
    echo "ok: $FRAMES packed frames through zerosrc ! zerosink, lent and" \
      "copied ($VARIANT)"
    ;;

  roundtrip-*)
    # Our three system plugins and videoconvert (its own plugin before
    # GStreamer 1.22, videoconvertscale since), in a directory of our own.
    sys=$(dirname "$(readlink -f \
      "$GST_PLUGIN_SYSTEM_PATH_1_0/libgstcoreelements.so")")
    mkdir "$WORK/plugins"
    for p in coreelements videotestsrc debugutilsbad videoconvert \
        videoconvertscale; do
      [ -f "$sys/libgst$p.so" ] && ln -s "$sys/libgst$p.so" "$WORK/plugins/"
    done
    export GST_PLUGIN_SYSTEM_PATH_1_0=$WORK/plugins
    "${GST_INSPECT_CMD[@]}" --exists videoconvert \
      || { echo "SKIP: videoconvert does not load"; exit 77; }

    SRC=(videotestsrc num-buffers=$FRAMES pattern=ball animation-mode=frames
      ! "$CAPS")
    TO_BGRA=(videoconvert ! video/x-raw,format=BGRA
      ! checksumsink hash=sha1 sync=false)
    "${GST_LAUNCH_CMD[@]}" -q "${SRC[@]}" ! "${TO_BGRA[@]}" \
      >"$WORK/ref.out" 2>"$WORK/ref.err" || fail "reference pipeline failed"
    checksums ref >"$WORK/expected"
    [ "$(wc -l <"$WORK/expected")" -eq $FRAMES ] || fail "reference gave \
$(wc -l <"$WORK/expected") checksums, expected $FRAMES"

    for path in lend copy; do
      mid=()
      copied=0
      if [ $path = copy ]; then
        mid=(identity drop-allocation=true !)
        copied=$FRAMES
      fi
      new_name gst-packed-rt
      gst_start rx -v zerosrc buffer-name="$NAME" ! "${mid[@]}" \
        "${TO_BGRA[@]}"
      RX=$PID
      wait_shm "$NAME" "$RX" 10 || fail "zerosrc did not create /dev/shm/$NAME"
      gst_start tx -v "${SRC[@]}" ! zerosink buffer-name="$NAME" sync=false
      TX=$PID
      expect_exit "$TX" 60 0 "writer (zerosink, $path)"
      expect_exit "$RX" 30 0 "reader (zerosrc, $path)"
      expect_no_error tx
      expect_no_error rx
      checksums rx >"$WORK/got"
      cmp -s "$WORK/expected" "$WORK/got" || fail "$path: received \
$(wc -l <"$WORK/got") frames; checksums differ from the reference:
$(diff "$WORK/expected" "$WORK/got" | head -n 6)"
      expect_log rx "zerosrc0: bytes-received = $((FRAMES * PACKED))\$"
      expect_copied tx zerosink0 0
      expect_copied rx zerosrc0 $copied
      assert_clean "$NAME"
      mv "$WORK/rx.out" "$WORK/rx-$path.out"
      mv "$WORK/tx.out" "$WORK/tx-$path.out"
    done
    echo "ok: $FRAMES frames identical to the reference, lent and copied" \
      "($VARIANT)"
    ;;
esac
