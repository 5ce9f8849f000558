#!/bin/bash
# zerobuffer ls and top: every buffer on the host, and nothing else.
#   script  a few live buffers (streaming, degraded, critical, idle, a dead
#           reader's, metadata in GStreamer JSON and not) next to hostile
#           and foreign objects in /dev/shm: ls (text and --json) and top
#           (--json --count, plain) show exactly the buffers with the
#           right peers, health, counts, metadata and stale mark, with
#           frames/s and MB/s for the one that moves; nothing is created
#           or changed
#   tmux    top in a real terminal (tmux, 160 columns): the view fits the
#           width, and q, Ctrl-C and SIGTERM each quit it with the
#           terminal restored (echo and canonical mode back)
# Runs in a private mount namespace (private-ns.sh), so the host's other
# buffers do not show up.
source "$(dirname "$0")/private-ns.sh" "$@"
VARIANT=${1:-script}
source "$(dirname "$0")/common.sh"

JSON_CAPS='video/x-raw, format=(string)RGB, width=(int)320, height=(int)240'

le64 () {
  local i
  for i in 0 1 2 3 4 5 6 7; do
    printf "\\x$(printf %02x $(( ($1 >> (8 * i)) & 255 )))"
  done
}

# json_meta CAPS: the metadata our elements write.
json_meta () {
  printf '{"type":"gstreamer-sink","version":"GStreamer 1.22.0","caps":"%s","element_name":"zerosink0"}' "$1"
}

case $VARIANT in
script)
  command -v python3 >/dev/null || { echo "SKIP: no python3 to read JSON"; exit 77; }

  # Streaming: a paced writer and a reader that keeps up.
  new_name flow
  FLOW=$NAME
  start flow "$ZB" read "$FLOW" --payload-size 1M --metadata-size 4K
  wait_line flow '^ready: ' 10 || fail "flow reader not ready"
  start flow-w "$ZB" write "$FLOW" --frames 1000000000 --size 10000 \
    --rate 200 --metadata "$(json_meta "$JSON_CAPS")"
  FLOW_W=$PID
  wait_info "$FLOW" payload_read_count 5 20 || fail "nothing flows"

  # Critical: a stalled reader, a writer blocked on the full ring.
  new_name crit
  CRIT=$NAME
  start crit "$ZB" read "$CRIT" --payload-size 64K --metadata-size 1K \
    --stall-after 1
  wait_line crit '^ready: ' 10 || fail "crit reader not ready"
  start crit-w "$ZB" write "$CRIT" --frames 1000 --size 1000 \
    --metadata 'video/x-raw,format=GRAY8'
  CRIT_W=$PID
  wait_line crit '^stalled: ' 20 || fail "crit reader never stalled"

  # Degraded: 56 frames of 1000 bytes in 64 KiB, the first one read.
  new_name degr
  DEGR=$NAME
  start degr "$ZB" read "$DEGR" --payload-size 64K --stall-after 1
  wait_line degr '^ready: ' 10 || fail "degr reader not ready"
  "$ZB" write "$DEGR" --frames 56 --size 1000 >"$WORK/degr-w.out" 2>&1 \
    || fail "degr writer failed"

  # Idle, and a reader killed with its objects left.
  new_name idle
  IDLE=$NAME
  start idle "$ZB" read "$IDLE" --payload-size 128K
  wait_line idle '^ready: ' 10 || fail "idle reader not ready"
  new_name dead
  DEAD=$NAME
  start dead "$ZB" read "$DEAD" --payload-size 64K
  DEAD_PID=$PID
  wait_line dead '^ready: ' 10 || fail "dead reader not ready"
  kill -9 "$DEAD_PID"
  wait_exit "$DEAD_PID" 10 || fail "reader survived SIGKILL"

  # Not buffers: hostile header, truncated, foreign, a FIFO, half-made.
  new_name hostile
  { printf '\x80\0\0\0\x01\0\0\0'; le64 64; le64 64; le64 0; le64 $((1 << 40))
    head -c $((128 - 40)) /dev/zero; } >"/dev/shm/$NAME"
  new_name truncated
  { printf '\x80\0\0\0\x01\0\0\0'; head -c 40 /dev/zero; } >"/dev/shm/$NAME"
  new_name foreign
  head -c 4096 /dev/urandom >"/dev/shm/$NAME"
  new_name fifo
  mkfifo "/dev/shm/$NAME"
  new_name half
  head -c 4224 /dev/zero >"/dev/shm/$NAME"
  STATE=$(host_state)

  # ls --json
  "$ZB" ls --json >"$WORK/ls.json" 2>"$WORK/ls.err" || fail "ls --json: $?"
  [ ! -s "$WORK/ls.err" ] || fail "ls printed errors"
  python3 - "$WORK/ls.json" "$FLOW" "$CRIT" "$DEGR" "$IDLE" "$DEAD" \
    "$JSON_CAPS" <<'EOF' || fail "ls --json: $(cat "$WORK/ls.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
flow, crit, degr, idle, dead, caps = sys.argv[2:8]
b = {x["name"]: x for x in doc["buffers"]}
assert sorted(b) == sorted([flow, crit, degr, idle, dead]), sorted(b)
f = b[flow]
assert f["writer"]["state"] == "alive" and f["reader"]["state"] == "alive", f
assert f["payload_size"] == 1 << 20 and f["metadata_size"] == 4096, f
assert f["metadata_type"] == "gstreamer-sink" and f["caps"] == caps, f
assert f["frames_written"] >= 5 and f["health"] == "Healthy", f
assert f["stale"] is False and "frames_per_s" not in f, f
c = b[crit]
assert c["health"] == "Critical" and c["utilization"] > 95, c
assert c["writer"]["state"] == "alive", c
assert c["metadata_type"] is None and c["caps"] is None, c
assert c["metadata_bytes"] == len("video/x-raw,format=GRAY8"), c
d = b[degr]
assert d["health"] == "Degraded" and 80 <= d["utilization"] <= 95, d
assert d["writer"]["state"] == "none" and d["frames_written"] == 56, d
assert d["frames_read"] == 1, d
i = b[idle]
assert i["health"] == "Healthy" and i["utilization"] == 0, i
assert i["metadata_bytes"] is None and i["writer"]["pid"] == 0, i
assert not i["stale"] and "in use" in i["stale_reason"], i
x = b[dead]
assert x["reader"]["state"] == "dead" and x["stale"] is True, x
assert "died" in x["stale_reason"], x
EOF

  # ls, text
  "$ZB" ls >"$WORK/ls.out" 2>&1 || fail "ls: $?"
  head -n 1 "$WORK/ls.out" | grep -qE '^NAME +USED +HEALTH +WRITER +READER +WRITTEN +READ +PAYLOAD +META +STALE +TYPE +CAPS$' \
    || fail "ls header: $(head -n 1 "$WORK/ls.out")"
  [ "$(wc -l <"$WORK/ls.out")" -eq 6 ] || fail "ls printed $(wc -l <"$WORK/ls.out") lines"
  grep -qE "^$FLOW +[0-9.]+% Healthy +$FLOW_W alive +[0-9]+ alive +[0-9]+ +[0-9]+ +1\.0M +4\.0K - +gstreamer-sink +video/x-raw, format=\(string\)RGB" "$WORK/ls.out" \
    || fail "ls: flow line"
  grep -qE "^$CRIT +(9[5-9]|100)\.[0-9]% Critical +$CRIT_W alive .* - +\? +\(24 bytes of metadata, not GStreamer JSON\)$" "$WORK/ls.out" \
    || fail "ls: crit line"
  grep -qE "^$DEGR +8[0-9]\.[0-9]% Degraded +- +[0-9]+ alive +56 +1 +64\.0K +0B +- " "$WORK/ls.out" \
    || fail "ls: degr line"
  grep -qE "^$DEAD .* $DEAD_PID dead .* stale " "$WORK/ls.out" \
    || fail "ls: dead line"

  # top --json: one document per refresh; rates from the second on.
  "$ZB" top --json --count 3 --interval 0.5 >"$WORK/top.json" \
    2>"$WORK/top.err" </dev/null || fail "top --json: $?"
  python3 - "$WORK/top.json" "$FLOW" "$CRIT" <<'EOF' || fail "top --json: $(cat "$WORK/top.json")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
flow, crit = sys.argv[2:4]
assert len(lines) == 3, len(lines)
docs = [json.loads(l) for l in lines]
for d in docs:
    assert d["interval_s"] == 0.5 and d["time"] > 0 and len(d["buffers"]) == 5
first = {x["name"]: x for x in docs[0]["buffers"]}
assert first[flow]["frames_per_s"] is None and first[flow]["mb_per_s"] is None
last = {x["name"]: x for x in docs[2]["buffers"]}
f = last[flow]
assert f["frames_per_s"] > 0 and f["mb_per_s"] > 0, f
# ring bytes (frame + 16-byte header, and wrap tails) per frame
per = f["mb_per_s"] * 1e6 / f["frames_per_s"]
assert 10016 * 0.95 <= per <= 10016 * 1.25, per
c = last[crit]
assert c["frames_per_s"] == 0 and c["mb_per_s"] == 0, c
EOF
  echo "flow: $(tail -n 1 "$WORK/top.json" | python3 -c 'import json,sys
d = {x["name"]: x for x in json.load(sys.stdin)["buffers"]}
print("%(frames_per_s).1f frames/s, %(mb_per_s).3f MB/s" % d[sys.argv[1]])' "$FLOW")"

  # top without a terminal: the table once per refresh.
  "$ZB" top --count 1 --interval 0.2 >"$WORK/top.out" 2>&1 </dev/null \
    || fail "top --count 1: $?"
  grep -qE '^NAME +USED +HEALTH +FPS +MB/S +WRITER .* STALE +TYPE +CAPS$' "$WORK/top.out" \
    || fail "top header: $(head -n 1 "$WORK/top.out")"
  grep -q "^$FLOW " "$WORK/top.out" || fail "top lacks $FLOW"
  ! grep -q $'\e' "$WORK/top.out" || fail "escape codes without a terminal"

  # Usage errors
  "$ZB" top --count 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "top --count 0"
  "$ZB" ls extra >/dev/null 2>&1; [ $? -eq 2 ] || fail "ls extra"

  [ "$(host_state)" = "$STATE" ] || fail "ls/top changed the host:
$(diff <(echo "$STATE") <(host_state))"
  kill "$FLOW_W" "$CRIT_W"
  echo "ok: ls and top"
  ;;

tmux)
  command -v tmux >/dev/null || { echo "SKIP: tmux not installed"; exit 77; }
  SOCK="$WORK/tmux.sock"
  TM=(tmux -S "$SOCK")
  LONG_CAPS="video/x-raw, format=(string)RGB, width=(int)320, height=(int)240, framerate=(fraction)30/1, multiview-mode=(string)mono, pixel-aspect-ratio=(fraction)1/1, interlace-mode=(string)progressive TAILMARK"
  new_name top-a
  A=$NAME
  start a "$ZB" read "$A" --payload-size 1M --metadata-size 4K
  wait_line a '^ready: ' 10 || fail "reader not ready"
  start a-w "$ZB" write "$A" --frames 1000000000 --size 1000 --rate 100 \
    --metadata "$(json_meta "$LONG_CAPS")"
  wait_info "$A" payload_read_count 1 20 || fail "nothing flows"
  new_name top-b
  B=$NAME
  start b "$ZB" read "$B" --payload-size 64K
  wait_line b '^ready: ' 10 || fail "reader not ready"

  tmux_stop () { "${TM[@]}" kill-server 2>/dev/null; }
  trap 'tmux_stop; cleanup' EXIT
  "${TM[@]}" -f /dev/null new-session -d -x 160 -y 20 \
    "env PS1='zbprompt\$ ' bash --norc --noprofile" \
    || fail "tmux new-session failed"

  screen () { "${TM[@]}" capture-pane -p -t 0 >"$WORK/screen.txt" 2>/dev/null; }
  # wait_screen REGEX SECONDS
  wait_screen () {
    local deadline=$(( $(now_us) + $2 * 1000000 ))
    while [ "$(now_us)" -lt "$deadline" ]; do
      screen && grep -qE -- "$1" "$WORK/screen.txt" && return 0
      sleep 0.05
    done
    return 1
  }
  # The pane's shell is back (top gone) and its terminal as it was.
  check_restored () {
    rm -f "$WORK/stty.txt"
    "${TM[@]}" send-keys -t 0 "clear; stty -a >$WORK/stty.txt; echo done-\$?" Enter
    wait_screen '^done-0' 20 || fail "$1: the shell did not come back"
    grep -qE '(^|[ ;])icanon( |;|$)' "$WORK/stty.txt" \
      && grep -qE '(^|[ ;])echo( |;|$)' "$WORK/stty.txt" \
      && grep -qE '(^|[ ;])isig( |;|$)' "$WORK/stty.txt" \
      || fail "$1: terminal not restored: $(cat "$WORK/stty.txt")"
  }
  wait_screen 'zbprompt\$' 20 || fail "no shell in tmux"

  for how in q ctrl-c sigterm; do
    "${TM[@]}" send-keys -t 0 "clear; sh -c 'echo \$\$ >$WORK/top.pid; exec $ZB top --interval 0.3'; echo rc-\$?" Enter
    wait_screen '^zerobuffer top - .* 2 buffers' 20 || fail "$how: no top view"
    # rates once it refreshed twice
    wait_screen "^$A +[0-9.]+% Healthy +[0-9]+\.[0-9] +[0-9]+\.[0-9]{2} " 20 \
      || fail "$how: no rate for $A: $(cat "$WORK/screen.txt")"
    grep -qE "^NAME +USED +HEALTH +FPS +MB/S" "$WORK/screen.txt" || fail "$how: header"
    grep -qE "^$B " "$WORK/screen.txt" || fail "$how: no $B"
    # Fitted: the long caps are cut at the width, not wrapped.
    grep -q TAILMARK "$WORK/screen.txt" && fail "$how: line not cut at 160 columns"
    awk 'length($0) > 160 { bad = 1 } END { exit bad }' "$WORK/screen.txt" \
      || fail "$how: a line is wider than the terminal"
    [ "$(grep -c 'multiview' "$WORK/screen.txt")" -eq 0 ] \
      || fail "$how: the caps wrapped onto another line"
    case $how in
      q) "${TM[@]}" send-keys -t 0 q ;;
      ctrl-c) "${TM[@]}" send-keys -t 0 C-c ;;
      sigterm) kill -TERM "$(cat "$WORK/top.pid")" ;;
    esac
    case $how in
      sigterm) want=143 ;;
      *) want=0 ;;
    esac
    wait_screen "^rc-$want$" 20 || fail "$how: top did not quit with $want: $(cat "$WORK/screen.txt")"
    check_restored "$how"
    echo "ok: top quit on $how, terminal restored"
  done
  ;;

*) fail "unknown variant $VARIANT" ;;
esac
