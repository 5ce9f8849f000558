#!/bin/bash
# SIGKILL one side of a stream at random moments, ROUNDS times (default 50).
# The moments cycle through
#   start    at once (half of them) or a random 0-144 ms (biased low) after
#            the victim's peer was launched: before it connected, before
#            the first frame, or soon after
#   connect  as soon as `zerobuffer info` shows the writer attached
#   mid      after a random 1-300 frames were read
#   full     with the ring at least 75% full (the reader is slowed down)
# and the random parts come from $RANDOM seeded with a printed seed: replay
# a failure with ZB_KILL_SEED=<seed> (and ZB_KILL_ROUNDS to shorten).
#
# Variant writer: kill the writer.  Even rounds: gst-launch zerosink into
# gst-launch zerosrc ! checksumsink, whose checksums must be exactly the
# first frames of a local reference run (same SHA-1 and PTS), as many as
# the writer published.  Odd rounds: `zerobuffer write` into `zerobuffer
# read --verify sequential` (content and sequence checked), same count.
# The reader must report the dead writer within BOUND_MS of the kill.  A
# writer killed before it attached cannot be noticed: then the reader must
# still be waiting, and take a new writer's stream whole.
#
# Variant reader: kill the reader (zerosrc ! fakesink, or `zerobuffer
# read`) while zerosink writes, alternating on-reader-lost=error (zerosink
# posts "The reader of buffer ... is gone" and gst-launch exits non-zero
# within BOUND_MS; or, killed before zerosink connected, "no live reader"
# after its connect-timeout) and on-reader-lost=reconnect (a new zerosrc !
# checksumsink takes the name at once, gets its first frame within
# BOUND_MS and then every remaining frame: its checksums must be exactly
# the tail of the reference run, up to the writer's last frame).  The
# writer of a reconnect round stops after RECONNECT_FRAMES, so there the
# victim always reads one frame per millisecond (as in full rounds): the
# stream then lasts RECONNECT_FRAMES ms at least and the kill, which waits
# for at most 300 frames, finds it running unless this script lags by
# seconds.
#
# Every round: once the survivor closed nothing is left, and a new reader
# creates the same name at once.  Per-round timings and a min/median/max
# summary of the detection times are printed.
VARIANT=${1:-writer}
source "$(dirname "$0")/gst-common.sh"

[ "$VARIANT" = writer ] || [ "$VARIANT" = reader ] \
  || fail "unknown variant $VARIANT"

ROUNDS=${ZB_KILL_ROUNDS:-50}
SEED=${ZB_KILL_SEED:-$(( ($$ * 7919 + $(now_us)) % 32768 ))}
RANDOM=$SEED
echo "seed: $SEED (replay: ZB_KILL_SEED=$SEED ZB_KILL_ROUNDS=$ROUNDS)"

BOUND_MS=5000
CONNECT_MS=500      # zerosink connect-timeout in on-reader-lost=error rounds
REF=5000            # frames of the reference run, more than any round writes
                    # before its kill (a start kill comes within 144 ms)
# Frames of the writer in on-reader-lost=reconnect rounds, all read after
# the reconnect but those before the kill (at most a few hundred).  Read
# at full speed they take a third of a second, less than this script may
# need under a sanitizer and load to see the kill moment: the victim of a
# reconnect round is slowed down (see reader_round).
RECONNECT_FRAMES=3000
# Small frames of a pattern that differs in every frame, at a framerate
# that makes a synced sink a slow (1000 frames/s) consumer.
CAPS="video/x-raw,format=RGB,width=160,height=120,framerate=1000/1"
SRC=(videotestsrc pattern=ball)
# Rings of exactly four (gst) or sixteen (tool) frames with headers: the
# writer then never writes a wrap marker, so payload_written_count counts
# frames only (zerosink with compact-window=0: its default wraps early,
# behind markers).  Small, so a slowed reader fills them at once.
RING=230464         # 4 x (57600 + 16)
CLI_RING=256K
CLI_SIZE=16368      # 16 x (16368 + 16) = 256K
MOMENTS=(start connect mid full)

"${GST_LAUNCH_CMD[@]}" -q "${SRC[@]}" num-buffers=$REF ! "$CAPS" \
  ! checksumsink hash=sha1 sync=false >"$WORK/ref.out" 2>"$WORK/ref.err" \
  || fail "reference pipeline failed"
# Not directly in $WORK, so fail() does not print them.
mkdir "$WORK/data"
REF_SUMS=$WORK/data/ref
REF_SHA=$WORK/data/ref.sha
GOT=$WORK/data/got
checksums ref >"$REF_SUMS"
rm "$WORK/ref.out"
[ "$(wc -l <"$REF_SUMS")" -eq $REF ] || fail "reference gave \
$(wc -l <"$REF_SUMS") checksums, expected $REF"
cut -d' ' -f2 "$REF_SUMS" >"$REF_SHA"
[ "$(sort -u "$REF_SHA" | wc -l)" -eq $REF ] \
  || fail "reference frames are not all different"

DETECT=()
NOT_ATTACHED=0

# peer_state NAME WHO: alive, dead or none (empty if no buffer).
peer_state () {
  "$ZB" info "$1" 2>/dev/null | sed -n "s/^$2_pid: [0-9]* (\(.*\))$/\1/p"
}

wait_writer_attached () {
  local deadline
  deadline=$(( $(now_us) + $2 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    [ "$(peer_state "$1" writer)" = alive ] && return 0
    sleep 0.005
  done
  return 1
}

# wait_full NAME SECONDS: ring at least 75% used and frames read.
wait_full () {
  local deadline u
  deadline=$(( $(now_us) + $2 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    u=$("$ZB" info "$1" 2>/dev/null \
      | sed -n 's/^utilization: \([0-9]*\)\..*/\1/p')
    [ -n "$u" ] && [ "$u" -ge 75 ] \
      && [ "$(info_field "$1" payload_read_count)" -ge 1 ] && return 0
    sleep 0.005
  done
  return 1
}

# Waits for a moment of the stream only end a wait (they bound nothing the
# test is about): generous, and longer where everything runs slower (an
# instrumented gst-launch starting under load took > 20 s).
WAIT_S=$((20 * SCALE))

# kill_at MOMENT NAME PID: wait for the moment, then SIGKILL PID.  Sets T0
# and MOMENT_NOTE (the random part, for the round's line).
kill_at () {
  MOMENT_NOTE=
  case $1 in
    start) # Half of them at once: most likely before anything happened.
      if ((RANDOM % 2)); then
        D=0
      else
        D=$(( (RANDOM % 13) ** 2 ))
        sleep "0.$(printf '%03d' $D)"
      fi
      MOMENT_NOTE="+${D}ms" ;;
    connect) wait_writer_attached "$2" $WAIT_S || fail "round $r: no writer" ;;
    mid) K=$((1 + RANDOM % 300))
      MOMENT_NOTE="@$K"
      wait_info "$2" payload_read_count $K $WAIT_S \
        || fail "round $r: $K frames not read within $WAIT_S s" ;;
    full) wait_full "$2" $WAIT_S || fail "round $r: ring never full" ;;
  esac
  kill -0 "$3" 2>/dev/null || fail "round $r: victim ended before the kill"
  kill -9 "$3"
  T0=$(now_us)
}

# The name is free at once after the survivor closed: a new reader makes
# it within 2 s and leaves nothing when it is stopped.  With "stale", the
# dead reader's objects may still be there (no writer ever attached, so
# nobody noticed the death) and the new reader must replace them.
check_reuse () {
  local t
  [ "${1:-}" = stale ] || assert_clean "$NAME"
  t=$(now_us)
  start "reuse$r" "$ZB" read "$NAME" --payload-size 64K
  wait_line "reuse$r" '^ready: ' 2 \
    || fail "round $r: no new reader of $NAME within 2 s"
  REUSE_MS=$(ms_between "$t" "$(now_us)")
  kill -INT "$PID"
  wait_exit "$PID" 10 || fail "round $r: new reader ignores SIGINT"
  assert_clean "$NAME"
}

# check_prefix LOG WRITTEN: LOG's checksums are the first frames of the
# reference, as many as the writer published (WRITTEN, or one more when the
# kill fell between publishing a frame and counting it).
check_prefix () {
  local n
  checksums "$1" >"$GOT"
  n=$(wc -l <"$GOT")
  head -n "$n" "$REF_SUMS" | cmp -s - "$GOT" \
    || fail "round $r: the $n frames delivered are not the reference's first:
$(diff <(head -n "$n" "$REF_SUMS") "$GOT" | head -n 6)"
  if [ -n "$2" ]; then
    [ "$n" -eq "$2" ] || [ "$n" -eq $(($2 + 1)) ] \
      || fail "round $r: delivered $n frames, the writer published $2"
  fi
  DELIVERED=$n
}

writer_round () {
  local kind=$1 moment=$2 sync=false written state ms
  if [ "$kind" = zerosrc ]; then
    [ "$moment" = full ] && sync=true
    gst_start "rx$r" zerosrc buffer-name="$NAME" payload-size=$RING \
      ! checksumsink hash=sha1 sync=$sync
    RX=$PID
    wait_shm "$NAME" "$RX" 10 || fail "round $r: no buffer from zerosrc"
    gst_start "tx$r" "${SRC[@]}" num-buffers=$REF ! "$CAPS" \
      ! zerosink buffer-name="$NAME" sync=false compact-window=0
  else
    local slow=()
    [ "$moment" = full ] && slow=(--release-delay 0.001)
    start "rx$r" "$ZB" read "$NAME" --payload-size $CLI_RING \
      --verify sequential "${slow[@]}"
    RX=$PID
    wait_line "rx$r" '^ready: ' 10 || fail "round $r: reader not ready"
    start "tx$r" "$ZB" write "$NAME" --frames 1000000 --size $CLI_SIZE \
      --pattern sequential --timeout 10
  fi
  TX=$PID
  kill_at "$moment" "$NAME" "$TX"
  # The writer is dead: what it left in the header is final.
  state=$(peer_state "$NAME" writer)
  written=$(info_field "$NAME" payload_written_count)
  wait "$TX" 2>/dev/null

  if [ "$state" = none ]; then
    # Killed before it attached: nothing to notice.  The reader waits on
    # and takes the next writer's stream whole.
    NOT_ATTACHED=$((NOT_ATTACHED + 1))
    kill -0 "$RX" 2>/dev/null || fail "round $r: reader ended although \
the writer never attached"
    if [ "$kind" = zerosrc ]; then
      gst_start "tx2-$r" "${SRC[@]}" num-buffers=20 ! "$CAPS" \
        ! zerosink buffer-name="$NAME" sync=false compact-window=0
      expect_exit "$PID" 30 0 "round $r: second writer"
      expect_exit "$RX" 30 0 "round $r: zerosrc"
      check_prefix "rx$r" 20
      [ "$DELIVERED" -eq 20 ] || fail "round $r: $DELIVERED frames, not 20"
    else
      start "tx2-$r" "$ZB" write "$NAME" --frames 20 --size $CLI_SIZE \
        --pattern sequential --timeout 10
      expect_exit "$PID" 30 0 "round $r: second writer"
      expect_exit "$RX" 30 0 "round $r: reader"
      expect_field "rx$r" frames 20
      expect_field "rx$r" errors 0
      DELIVERED=20
    fi
    ms=-
  else
    wait_exit "$RX" 30 || fail "round $r: reader still running 30 s \
after the kill"
    ms=$(ms_between "$T0" "$EXIT_US")
    [ "$ms" -le "$BOUND_MS" ] \
      || fail "round $r: writer-gone after $ms ms (bound $BOUND_MS)"
    [ "$RC" -ne 0 ] || fail "round $r: reader exited 0 after the writer died"
    if [ "$kind" = zerosrc ]; then
      expect_msg "rx$r" ERROR zerosrc0 "Writer of buffer \"$NAME\" died"
      check_prefix "rx$r" "$written"
    else
      expect_field "rx$r" end writer-gone
      expect_field "rx$r" errors 0
      expect_err "rx$r" "writer gone"
      DELIVERED=$(field "rx$r" frames)
      [ -z "$written" ] || [ "$DELIVERED" -eq "$written" ] \
        || [ "$DELIVERED" -eq $((written + 1)) ] \
        || fail "round $r: read $DELIVERED frames, the writer published \
$written"
    fi
    DETECT+=("$ms")
  fi
  check_reuse
  printf 'round %2d: %-7s %-14s writer %-5s frames %6d  detect %4s ms' \
    "$r" "$kind" "$moment$MOMENT_NOTE" "${state:-gone}" "$DELIVERED" "$ms"
  printf '  reuse %3d ms  round %4d ms\n' "$REUSE_MS" \
    "$(ms_between "$R0" "$(now_us)")"
}

reader_round () {
  local kind=$1 policy=$2 moment=$3 sync=false ms how opts frames paced=0
  # One frame per ms: to fill the ring (full), and so that a finite stream
  # cannot end before the kill (reconnect).
  if [ "$moment" = full ] || [ "$policy" = reconnect ]; then
    paced=1
  fi
  if [ "$kind" = zerosrc ]; then
    [ "$paced" = 1 ] && sync=true
    gst_start "rx$r" zerosrc buffer-name="$NAME" payload-size=$RING \
      ! fakesink sync=$sync
    RX=$PID
    wait_shm "$NAME" "$RX" 10 || fail "round $r: no buffer from zerosrc"
  else
    local slow=()
    [ "$paced" = 1 ] && slow=(--release-delay 0.001)
    start "rx$r" "$ZB" read "$NAME" --payload-size $CLI_RING \
      --metadata-size 4K "${slow[@]}"
    RX=$PID
    wait_line "rx$r" '^ready: ' 10 || fail "round $r: reader not ready"
  fi
  if [ "$policy" = error ]; then
    # Endless: the stream must still run when its reader is killed (the
    # content is not checked here).
    opts=(connect-timeout=$CONNECT_MS)
    frames=-1
  else
    opts=(on-reader-lost=reconnect connect-timeout=20000)
    frames=$RECONNECT_FRAMES
  fi
  gst_start "tx$r" "${SRC[@]}" num-buffers=$frames ! "$CAPS" \
    ! zerosink buffer-name="$NAME" sync=false "${opts[@]}"
  TX=$PID
  kill_at "$moment" "$NAME" "$RX"
  wait "$RX" 2>/dev/null

  if [ "$policy" = error ]; then
    wait_exit "$TX" 30 || fail "round $r: zerosink still running 30 s \
after the kill"
    ms=$(ms_between "$T0" "$EXIT_US")
    [ "$RC" -ne 0 ] || fail "round $r: zerosink exited 0 after the reader died"
    if in_log "tx$r" "^ERROR: from element [^ ]*:zerosink0: The reader of \
buffer \"$NAME\" is gone"; then
      how=reader-gone
      [ "$ms" -le "$BOUND_MS" ] \
        || fail "round $r: reader-gone after $ms ms (bound $BOUND_MS)"
      DETECT+=("$ms")
    elif [ "$moment" = start ] && in_log "tx$r" "^ERROR: from element \
[^ ]*:zerosink0: (No reader created buffer \"$NAME\"|Buffer \"$NAME\" \
exists but has no live reader)"; then
      # Killed before zerosink connected: its connect wait sees a dead
      # reader's buffer and gives up after connect-timeout.
      how=no-reader
      NOT_ATTACHED=$((NOT_ATTACHED + 1))
      [ "$ms" -le $((CONNECT_MS + BOUND_MS)) ] \
        || fail "round $r: no-reader error after $ms ms"
    else
      fail "round $r: zerosink failed without the reader-gone error"
    fi
    # The dead reader's objects: zerosink removes them once it noticed
    # the death.  A zerosink that never connected leaves them to the next
    # reader (check_reuse): without the reader's lock ever seen, a dead
    # reader cannot be told from a live one in another PID namespace.
    [ "$how" = no-reader ] || assert_clean "$NAME"
  else
    # A new reader at once; frames must flow to it, every one of them.
    gst_start "rx2-$r" zerosrc buffer-name="$NAME" payload-size=$RING \
      ! checksumsink hash=sha1 sync=false
    RX2=$PID
    wait_in "rx2-$r.out" '^Pipeline is PREROLLING' 10 \
      || fail "round $r: new zerosrc did not start"
    local deadline=$(( $(now_us) + 30000000 ))
    while [ -z "$(checksums "rx2-$r" | head -n 1)" ]; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        kill -0 "$TX" 2>/dev/null || fail "round $r: no frame through the \
new reader in 30 s, and zerosink had exited: did its stream end before \
the kill?"
        fail "round $r: no frame through the new reader in 30 s"
      fi
      kill -0 "$RX2" 2>/dev/null || break
      sleep 0.005
    done
    ms=$(ms_between "$T0" "$(now_us)")
    [ "$ms" -le "$BOUND_MS" ] \
      || fail "round $r: first frame after the reconnect $ms ms after the \
kill (bound $BOUND_MS)"
    DETECT+=("$ms")
    how=reconnected
    expect_exit "$TX" 60 0 "round $r: zerosink"
    expect_exit "$RX2" 30 0 "round $r: new zerosrc"
    expect_no_error "tx$r"
    expect_no_error "rx2-$r"
    checksums "rx2-$r" | cut -d' ' -f2 >"$GOT"
    DELIVERED=$(wc -l <"$GOT")
    [ "$DELIVERED" -ge 1 ] || fail "round $r: no frame after the reconnect"
    head -n $RECONNECT_FRAMES "$REF_SHA" | tail -n "$DELIVERED" \
      | cmp -s - "$GOT" || fail "round $r: the $DELIVERED frames after the \
reconnect are not the last $DELIVERED of the writer's $RECONNECT_FRAMES"
    assert_clean "$NAME"
  fi
  if [ "$how" = no-reader ]; then check_reuse stale; else check_reuse; fi
  printf 'round %2d: %-7s %-9s %-14s %-11s detect %4s ms' \
    "$r" "$kind" "$policy" "$moment$MOMENT_NOTE" "$how" "$ms"
  printf '  reuse %3d ms  round %4d ms\n' "$REUSE_MS" \
    "$(ms_between "$R0" "$(now_us)")"
}

T_ALL=$(now_us)
for ((r = 0; r < ROUNDS; r++)); do
  R0=$(now_us)
  new_name "gst-kill-random-$VARIANT"
  DELIVERED=0
  if [ "$VARIANT" = writer ]; then
    kinds=(zerosrc cli)
    writer_round "${kinds[r % 2]}" "${MOMENTS[(r / 2) % 4]}"
  else
    kinds=(zerosrc cli)
    policies=(error reconnect)
    reader_round "${kinds[r % 2]}" "${policies[(r / 2) % 2]}" \
      "${MOMENTS[(r / 4) % 4]}"
  fi
done

n=${#DETECT[@]}
[ "$n" -gt 0 ] || fail "no round detected anything"
sorted=($(printf '%s\n' "${DETECT[@]}" | sort -n))
echo "summary: rounds=$ROUNDS detected=$n not_attached=$NOT_ATTACHED" \
  "detect_ms min=${sorted[0]} median=${sorted[n / 2]}" \
  "max=${sorted[n - 1]} total_s=$(( ($(now_us) - T_ALL) / 1000000 ))"
echo "ok: $ROUNDS rounds of killing the $VARIANT (seed $SEED)"
