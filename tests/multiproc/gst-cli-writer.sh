#!/bin/bash
# The zerobuffer tool writes, zerosrc in gst-launch reads.  The tool writes
# K frames of the sequential pattern (byte j of frame i is (i + j) mod 256)
# after describing them in the metadata; zerosrc must turn the metadata into
# caps, deliver every frame byte-exact with PTS i / framerate, offset i and
# offset_end i + 1, end with EOS, exit 0 and remove the buffer.  Variant:
#   caps  metadata is a bare caps string; zerosrc buffer-name=N ! checksumsink
#   json  metadata is the rocket-welder JSON; zerosrc ! fakesink (-v shows
#         every buffer's size, PTS and offsets)
#   seed  the rocket-welder spelling: zerosrc name=<uuid-like name> with no
#         buffer-name, so the element name is the buffer name
VARIANT=${1:-caps}
source "$(dirname "$0")/gst-common.sh"

FRAMES=100
W=64
H=48
SIZE=$((W * H))
CAPS="video/x-raw,format=GRAY8,width=$W,height=$H,framerate=30/1"
PAD_CAPS="video/x-raw, format=(string)GRAY8, width=(int)$W, height=(int)$H,"
PAD_CAPS+=" framerate=(fraction)30/1"

case $VARIANT in
  caps)
    new_name gst-cli-writer
    META=$CAPS
    src=(zerosrc buffer-name="$NAME")
    sink=(checksumsink hash=sha1 sync=false)
    ;;
  json)
    new_name gst-cli-writer-json
    META='{"type":"gstreamer-sink","version":"GStreamer 1.22.0",'
    META+='"caps":"'$CAPS'","element_name":"camera"}'
    src=(zerosrc buffer-name="$NAME")
    sink=(fakesink silent=false sync=false)
    ;;
  seed)
    uuid_name
    META=$CAPS
    src=(zerosrc name="$NAME")
    sink=(checksumsink hash=sha1 sync=false)
    ;;
  *) fail "unknown variant $VARIANT" ;;
esac
ELEMENT=${NAME}
[ "$VARIANT" = seed ] || ELEMENT=zerosrc0

gst_start rx -v "${src[@]}" ! "${sink[@]}"
RX=$PID
wait_shm "$NAME" "$RX" 10 || fail "zerosrc did not create /dev/shm/$NAME"

start writer "$ZB" write "$NAME" --frames $FRAMES --size $SIZE \
  --pattern sequential --metadata "$META" --timeout 10
WRITER=$PID

expect_exit "$WRITER" 60 0 "zerobuffer write"
expect_field writer frames $FRAMES
expect_field writer end "done"
expect_exit "$RX" 30 0 "zerosrc pipeline"
expect_no_error rx
expect_log rx '^Got EOS from element "pipeline0"'
! in_log rx '^WARNING' || fail "zerosrc warned"

got=$(pad_caps rx "$ELEMENT" src)
[ "$got" = "$PAD_CAPS" ] || fail "zerosrc caps '$got', expected '$PAD_CAPS'"
expect_log rx "$ELEMENT: frames-received = $FRAMES\$"
expect_log rx "$ELEMENT: bytes-received = $((FRAMES * SIZE))\$"

# Expected per frame: PTS, duration start, and the pattern's SHA-1 (frame i
# is the 256-byte cycle 0..255 started at i mod 256).
for ((k = 0; k < 256; k++)); do
  printf "\\$(printf %03o $k)"
done >"$WORK/cycle"
for ((k = 0; k < (SIZE + 256) / 256 + 1; k++)); do
  cat "$WORK/cycle"
done >"$WORK/pattern"
declare -A sha
: >"$WORK/expected"
: >"$WORK/expected-buffers"
for ((i = 0; i < FRAMES; i++)); do
  r=$((i % 256))
  if [ -z "${sha[$r]:-}" ]; then
    sha[$r]=$(tail -c +$((r + 1)) "$WORK/pattern" | head -c $SIZE | sha1sum \
      | cut -d' ' -f1)
  fi
  t0=$((i * 1000000000 / 30))
  t1=$(((i + 1) * 1000000000 / 30))
  pts=$(gst_time $t0)
  echo "$pts ${sha[$r]}" >>"$WORK/expected"
  echo "($SIZE bytes, dts: none, pts: $pts, duration: $(gst_time $((t1 - t0))),\
 offset: $i, offset_end: $((i + 1))," >>"$WORK/expected-buffers"
done

if [ "$VARIANT" = json ]; then
  grep -o '(fakesink0:sink) ([0-9]* bytes.*offset_end: [0-9]*,' \
    "$WORK/rx.out" | sed 's/^(fakesink0:sink) //' >"$WORK/got-buffers"
  cmp -s "$WORK/expected-buffers" "$WORK/got-buffers" || fail "fakesink got \
$(wc -l <"$WORK/got-buffers") buffers; sizes, PTS or offsets differ:
$(diff "$WORK/expected-buffers" "$WORK/got-buffers" | head -n 6)"
else
  checksums rx >"$WORK/got"
  cmp -s "$WORK/expected" "$WORK/got" || fail "received $(wc -l \
<"$WORK/got") frames; checksums or PTS differ:
$(diff "$WORK/expected" "$WORK/got" | head -n 6)"
fi

assert_clean "$NAME"
echo "ok: $FRAMES frames from the tool, byte-exact ($VARIANT, buffer $NAME)"
