#!/bin/bash
# zerosink in gst-launch writes, the zerobuffer tool reads (as the
# rocket-welder SDK would).  The reader must get every frame at the size the
# caps give, and the metadata must be exactly the JSON the SDK parses:
#   {"type":"gstreamer-sink","version":"GStreamer X.Y.Z",
#    "caps":"<zerosink's negotiated caps>","element_name":"<element>"}
# Both exit 0 and nothing is left behind.  Variant:
#   buffer-name  zerosink buffer-name=N; the tool reads until end of stream
#   seed         the rocket-welder spelling: zero-sink name="<uuid-like name>"
#                (no buffer-name), the tool reads with --frames K
VARIANT=${1:-buffer-name}
source "$(dirname "$0")/gst-common.sh"

W=320
H=240
SIZE=$((W * H * 3))
CAPS="video/x-raw,format=RGB,width=$W,height=$H"

case $VARIANT in
  buffer-name)
    FRAMES=300
    new_name gst-cli-reader
    ELEMENT=zerosink0
    sink=(zerosink buffer-name="$NAME" sync=false)
    reader_opts=()
    reader_end=eos
    ;;
  seed)
    FRAMES=120
    uuid_name
    ELEMENT=$NAME
    sink=(zero-sink name="$NAME" sync=false)
    reader_opts=(--frames "$FRAMES")
    reader_end=frames
    ;;
  *) fail "unknown variant $VARIANT" ;;
esac

version=$("${GST_LAUNCH_CMD[@]}" --version \
  | sed -n 's/^GStreamer \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
[ -n "$version" ] || fail "cannot tell the GStreamer version"

start reader "$ZB" read "$NAME" --payload-size 4M --metadata-size 4K \
  --timeout 30 "${reader_opts[@]}"
READER=$PID
wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"

gst_start tx -v videotestsrc num-buffers=$FRAMES ! "$CAPS" ! "${sink[@]}"
TX=$PID

expect_exit "$TX" 60 0 "zerosink pipeline"
expect_exit "$READER" 30 0 "zerobuffer read"
expect_no_error tx
expect_log tx '^Got EOS from element "pipeline0"'

expect_field reader frames $FRAMES
expect_field reader bytes $((FRAMES * SIZE))
expect_field reader errors 0
expect_field reader end $reader_end

caps=$(pad_caps tx "$ELEMENT" sink)
case $caps in
  "video/x-raw, format=(string)RGB, width=(int)$W, height=(int)$H,"*) ;;
  *) fail "zerosink negotiated '$caps'" ;;
esac
want='{"type":"gstreamer-sink","version":"GStreamer '$version'",'
want+='"caps":"'$caps'","element_name":"'$ELEMENT'"}'
got=$(sed -n 's/^metadata: //p' "$WORK/reader.out")
[ "$got" = "$want" ] || fail "metadata is
  $got
expected
  $want"

assert_clean "$NAME"
echo "ok: $FRAMES frames into the tool ($VARIANT); metadata: $got"
