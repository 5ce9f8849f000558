#!/bin/bash
# Security: who may open a buffer, and which names are refused.  Variant:
#   perm-cli   `zerobuffer read` as root, umask 000, default mode: all four
#              objects are exactly 0600 root:root; a second user (a
#              throwaway account made here) can neither write, inspect nor
#              take over the name, each refused at once with a permission
#              error naming the buffer; a root writer then streams normally
#   perm-gst   the same with zerosrc (reader) and zerosink (writer) in
#              gst-launch-1.0
#   group-cli  mode 0660: with the reader's group root the second user is
#              still refused; with the reader's group set to the second
#              user's group (setpriv --regid) it writes 200 frames, checked
#              byte by byte at the reader
#   lock-dir   the library makes a missing /tmp/zerobuffer with mode 1777
#              whatever the umask (needs root and a mount namespace)
#   group-gst  zerosrc mode=0660 with the shared group, the second user's
#              zerosink streams 30 video frames, checked against a local run
#   names      bad names ('/', '..', leading '.', empty, too long, spaces,
#              control and non-ASCII bytes) through the CLI's read, write
#              and info and both elements: each refused with an error saying
#              what is wrong, and no file appears anywhere
# The user variants need root (CI runs as root), useradd and setpriv; the
# user and its group are removed on exit, also after a failure.  Without
# what a variant needs it is a skip (77), never a pass.
VARIANT=${1:-names}
source "$(dirname "$0")/gst-common.sh"

CAPS="video/x-raw,format=RGB,width=160,height=120"
# Refusals must come at once: the bounds below are times SCALE, and the
# refused commands are given LONG_S to wait (a --timeout, a connect-timeout)
# so that a refusal is told apart from a wait that ran out.
LONG_S=$((30 * SCALE))
SEC_USER=
SEC_GROUP=
SEC_HOME=

remove_user () {
  local p deadline
  # cleanup killed what we started; anything else still running as the
  # throwaway user was started by this test too, and userdel refuses while
  # the user has processes.
  if [ -n "$SEC_USER" ]; then
    for p in $(ps -o pid= -u "$SEC_UID" 2>/dev/null); do
      kill -9 "$p" 2>/dev/null
    done
    deadline=$(( $(now_us) + 10000000 ))
    while [ -n "$(ps -o pid= -u "$SEC_UID" 2>/dev/null)" ] \
        && [ "$(now_us)" -lt "$deadline" ]; do
      sleep 0.01
    done
    userdel "$SEC_USER" >/dev/null 2>&1 \
      || echo "warning: could not remove user $SEC_USER" >&2
  fi
  # userdel may already have removed the group (USERGROUPS_ENAB).
  if [ -n "$SEC_GROUP" ] && getent group "$SEC_GROUP" >/dev/null; then
    groupdel "$SEC_GROUP" >/dev/null 2>&1 \
      || echo "warning: could not remove group $SEC_GROUP" >&2
  fi
  [ -z "$SEC_HOME" ] || rm -rf "$SEC_HOME"
}
trap 'cleanup; remove_user' EXIT
trap 'exit 143' TERM INT

# retry_locked CMD...: useradd and friends fail while another test holds
# /etc/passwd's lock (exit 1 or 10); retry those for up to 30 s.
retry_locked () {
  local deadline rc
  deadline=$(( $(now_us) + 30000000 ))
  while :; do
    "$@" 2>"$WORK/useradd.err"
    rc=$?
    case $rc in
      1|10) [ "$(now_us)" -lt "$deadline" ] || return $rc; sleep 0.1 ;;
      *) return $rc ;;
    esac
  done
}

# make_user: a throwaway user SEC_USER whose only group is SEC_GROUP.
make_user () {
  local t base rc
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to create a second user"; \
    exit 77; }
  for t in useradd userdel groupadd groupdel setpriv stat; do
    command -v "$t" >/dev/null \
      || { echo "SKIP: $t is not installed"; exit 77; }
  done
  base=zbsec-$$
  for t in "" -1 -2 -3; do
    retry_locked groupadd "$base$t"
    rc=$?
    [ $rc -eq 9 ] && continue             # name taken (a stale account)
    [ $rc -eq 0 ] || fail "groupadd $base$t: $(cat "$WORK/useradd.err")"
    SEC_GROUP=$base$t
    break
  done
  [ -n "$SEC_GROUP" ] || fail "no free group name $base*"
  retry_locked useradd -M -N -g "$SEC_GROUP" -s /usr/sbin/nologin \
    "$SEC_GROUP" || fail "useradd $SEC_GROUP: $(cat "$WORK/useradd.err")"
  SEC_USER=$SEC_GROUP
  SEC_UID=$(id -u "$SEC_USER")
  SEC_GID=$(getent group "$SEC_GROUP" | cut -d: -f3)
  # Its own HOME, so that GLib/GStreamer never write into root's.
  SEC_HOME=$(mktemp -d /tmp/zbsec-home.XXXXXX)
  chown "$SEC_USER:$SEC_GROUP" "$SEC_HOME"
  # Arrays, not functions: setpriv and env exec, so `start` gets the pid of
  # the command itself and cleanup can kill it.
  #   AS_USER CMD...   CMD as the second user, in its group only
  #   IN_GROUP CMD...  CMD as root with the second user's group as its only
  #                    group, so what it creates is root:SEC_GROUP
  AS_USER=(setpriv --reuid="$SEC_UID" --regid="$SEC_GID" --clear-groups
    env HOME="$SEC_HOME" XDG_CACHE_HOME="$SEC_HOME")
  IN_GROUP=(setpriv --regid="$SEC_GID" --clear-groups)
  "${AS_USER[@]}" test -x "$ZB" \
    || { echo "SKIP: user $SEC_USER cannot run $ZB (build dir not readable)"; \
    exit 77; }
  echo "second user: $SEC_USER uid $SEC_UID gid $SEC_GID"
}

# expect_modes NAME MODE OWNER:GROUP: all four objects exactly so.
expect_modes () {
  local f got
  for f in "/dev/shm/$1" "/dev/shm/sem.sem-w-$1" "/dev/shm/sem.sem-r-$1" \
      "/tmp/zerobuffer/$1.lock"; do
    got=$(stat -c '%a %U:%G' "$f" 2>&1) || fail "stat $f: $got"
    [ "$got" = "$2 $3" ] || fail "$f is $got, expected $2 $3"
  done
  echo "modes: all four objects of $1 are $2 $3"
}

# refused LOG T0_US SECONDS: the second user's command (PID, log LOG,
# started at T0_US) ended non-zero within SECONDS times SCALE: a permission
# error must not be waited on.
refused () {
  local t0=$2 s=$(($3 * SCALE))
  wait_exit "$PID" "$s" || fail "$1: still running after $s s (hangs)"
  [ "$RC" -ne 0 ] || fail "$1: exited 0, expected a refusal"
  echo "$1: refused in $(ms_between "$t0" "$EXIT_US") ms (exit $RC)"
}

# gst_refused LOG T0_US SECONDS REGEX: the gst-launch in PID (log LOG)
# printed an ERROR matching REGEX within SECONDS (times SCALE) and exits
# non-zero by itself within 5 s (times SCALE): both elements fail their
# state change at once (an error posted later, during preroll, could leave
# gst-launch 1.22 hanging).
gst_refused () {
  local s=$(($3 * SCALE))
  wait_in "$1.err" "$4" "$s" || wait_in "$1.out" "$4" 1 \
    || fail "$1: no error matching '$4' within $s s"
  echo "$1: error posted after $(ms_between "$2" "$(now_us)") ms"
  wait_exit "$PID" $((5 * SCALE)) \
    || fail "$1: gst-launch still running $((5 * SCALE)) s after the error"
  [ "$RC" -ne 0 ] || fail "$1: gst-launch exited 0 after the error"
  expect_log "$1" "Failed to set pipeline to PAUSED"
}

# The CLI's one-line reasons for a second user against a 0600 buffer.
cli_denied () {
  expect_err "$1" "^zerobuffer $2: $NAME: $3: permission denied (ZB_EPERM): \
$NAME: $4: Permission denied\$"
  expect_one_err_line "$1"
}

# The library creates /tmp/zerobuffer 1777 when it is missing, whatever the
# umask, so that readers of every user can make lock files there.  Checked in
# a private mount namespace with an empty /tmp (the real one is shared).
check_lock_dir () {
  local lib out
  if ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
    echo "SKIP: no mount namespaces here (unshare -m)"
    exit 77
  fi
  lib=$(ldd "$ZB" | awk '/libzerobuffer/ {print $3}')
  [ -f "$lib" ] || fail "cannot find the library of $ZB"
  # The tool and its library are reached through fds opened before the
  # empty tmpfs hides their directories (build dirs may be under /tmp).
  new_name lockdir
  out=$(unshare -m bash -c 'exec 3<"$(dirname "$1")" 4<"$(dirname "$2")"
    mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 9
    [ ! -e /tmp/zerobuffer ] || exit 9
    umask 077
    LD_LIBRARY_PATH=/proc/$$/fd/4 "/proc/$$/fd/3/$(basename "$1")" read "$3" \
      --payload-size 4K --timeout 0.05 >/dev/null 2>&1
    stat -c "%a %U:%G" /tmp/zerobuffer' _ "$ZB" "$lib" "$NAME" 2>&1)
  [ "$out" = "1777 root:root" ] \
    || fail "/tmp/zerobuffer made by the library: '$out', expected 1777"
  assert_clean "$NAME"
  echo "lock dir: a missing /tmp/zerobuffer is made 1777 under umask 077"
}

# The name is still ours after the refusals: everything in place, same modes.
still_intact () {
  assert_exists "$NAME"
  expect_modes "$NAME" "$1" "$2"
}

case $VARIANT in
perm-cli)
  make_user
  umask 000
  new_name sec-perm-cli
  start reader "$ZB" read "$NAME" --payload-size 64K --metadata-size 256 \
    --frames 100 --verify sequential --timeout 30
  READER=$PID
  wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"
  expect_modes "$NAME" 600 root:root

  # A writer with a long connect timeout: refused at once, not waited on.
  T0=$(now_us)
  start w2 "${AS_USER[@]}" "$ZB" write "$NAME" --frames 10 --size 100 \
    --timeout "$LONG_S"
  refused w2 "$T0" 10
  cli_denied w2 write "cannot connect" "cannot open /dev/shm/$NAME"
  start i2 "${AS_USER[@]}" "$ZB" info "$NAME"
  refused i2 "$(now_us)" 10
  cli_denied i2 info "cannot inspect" shm_open
  # Taking over the name as a reader: the lock file is not ours to open.
  start r2 "${AS_USER[@]}" "$ZB" read "$NAME" --payload-size 4K \
    --timeout "$LONG_S"
  refused r2 "$(now_us)" 10
  cli_denied r2 read "cannot create buffer" \
    "cannot open lock file /tmp/zerobuffer/$NAME.lock"
  "${AS_USER[@]}" cat "/dev/shm/$NAME" >/dev/null 2>&1 \
    && fail "second user can read /dev/shm/$NAME"
  kill -0 "$READER" 2>/dev/null || fail "reader died after the refusals"
  still_intact 600 root:root

  # The buffer still works for its legitimate (root) writer.
  start writer "$ZB" write "$NAME" --frames 100 --size 1000 \
    --pattern sequential --timeout 10
  expect_exit "$PID" 30 0 "root writer"
  expect_exit "$READER" 30 0 "reader"
  expect_field reader frames 100
  expect_field reader errors 0
  expect_field reader end frames
  assert_clean "$NAME"
  echo "ok: 0600 buffer refused the second user, then carried 100 frames"
  ;;

perm-gst)
  make_user
  umask 000
  new_name sec-perm-gst
  gst_start rx zerosrc buffer-name="$NAME" ! checksumsink hash=sha1 sync=false
  RX=$PID
  wait_shm "$NAME" "$RX" 20 || fail "zerosrc did not create /dev/shm/$NAME"
  expect_modes "$NAME" 600 root:root

  # zerosink of the second user, willing to wait LONG_S for a reader.
  T0=$(now_us)
  start tx2 "${AS_USER[@]}" "${GST_LAUNCH_CMD[@]}" videotestsrc num-buffers=5 \
    ! "$CAPS" ! zerosink buffer-name="$NAME" connect-timeout=$((LONG_S * 1000))
  gst_refused tx2 "$T0" 20 "Permission denied opening buffer"
  expect_msg tx2 ERROR zerosink0 "Permission denied opening buffer \"$NAME\""
  expect_log tx2 "cannot open /dev/shm/$NAME: Permission denied"
  # zerosrc of the second user on the same name.
  T0=$(now_us)
  start rx2 "${AS_USER[@]}" "${GST_LAUNCH_CMD[@]}" zerosrc \
    buffer-name="$NAME" ! fakesink
  gst_refused rx2 "$T0" 20 "Permission denied creating buffer"
  expect_msg rx2 ERROR zerosrc0 "Permission denied creating buffer \"$NAME\""
  kill -0 "$RX" 2>/dev/null || fail "zerosrc died after the refusals"
  still_intact 600 root:root

  gst_start tx videotestsrc num-buffers=30 ! "$CAPS" \
    ! zerosink buffer-name="$NAME" sync=false
  expect_exit "$PID" 60 0 "root zerosink"
  expect_exit "$RX" 30 0 "zerosrc"
  expect_no_error rx
  n=$(checksums rx | wc -l)
  [ "$n" -eq 30 ] || fail "zerosrc got $n frames, expected 30"
  assert_clean "$NAME"
  echo "ok: 0600 zerosrc refused the second user, then carried 30 frames"
  ;;

lock-dir)
  umask 077
  check_lock_dir
  echo "ok: lock dir"
  ;;

group-cli)
  make_user
  umask 077
  [ "$(stat -c %a /tmp/zerobuffer)" = 1777 ] \
    || fail "/tmp/zerobuffer is $(stat -c %a /tmp/zerobuffer), expected 1777"

  # 0660 alone is not enough: the group must be the writer's.
  new_name sec-group-root
  start reader0 "$ZB" read "$NAME" --payload-size 64K --mode 0660 --timeout 30
  READER=$PID
  wait_line reader0 '^ready: ' 10 || fail "reader not ready in 10 s"
  expect_modes "$NAME" 660 root:root
  start w0 "${AS_USER[@]}" "$ZB" write "$NAME" --frames 10 --size 100 \
    --timeout "$LONG_S"
  refused w0 "$(now_us)" 10
  cli_denied w0 write "cannot connect" "cannot open /dev/shm/$NAME"
  kill "$READER"
  expect_exit "$READER" 10 143 "reader (SIGTERM)"
  assert_clean "$NAME"

  new_name sec-group
  start reader "${IN_GROUP[@]}" "$ZB" read "$NAME" --payload-size 64K \
    --metadata-size 256 --frames 200 --verify sequential \
    --sizes 1,100,4093,20000 --mode 0660 --timeout 30
  READER=$PID
  wait_line reader '^ready: ' 10 || fail "reader not ready in 10 s"
  expect_modes "$NAME" 660 "root:$SEC_GROUP"
  start writer "${AS_USER[@]}" "$ZB" write "$NAME" --frames 200 \
    --sizes 1,100,4093,20000 --pattern sequential --metadata "from $SEC_USER" \
    --timeout 10
  expect_exit "$PID" 30 0 "second user's writer"
  expect_exit "$READER" 30 0 "reader"
  [ ! -s "$WORK/writer.err" ] || fail "writer printed errors"
  expect_field writer frames 200
  expect_field reader frames 200
  expect_field reader errors 0
  expect_field reader bytes "$(field writer bytes)"
  grep -qxF "metadata: from $SEC_USER" "$WORK/reader.out" \
    || fail "metadata not seen at the reader"
  assert_clean "$NAME"
  echo "ok: 0660 with the writer's group: 200 frames verified"
  ;;

group-gst)
  make_user
  umask 077
  "${GST_LAUNCH_CMD[@]}" -q videotestsrc num-buffers=30 ! "$CAPS" \
    ! checksumsink hash=sha1 sync=false >"$WORK/ref.out" 2>"$WORK/ref.err" \
    || fail "reference pipeline failed"
  checksums ref >"$WORK/expected"
  [ "$(wc -l <"$WORK/expected")" -eq 30 ] || fail "reference: no checksums"

  new_name sec-group-gst
  start rx "${IN_GROUP[@]}" "${GST_LAUNCH_CMD[@]}" zerosrc buffer-name="$NAME" \
    mode=0660 ! checksumsink hash=sha1 sync=false
  RX=$PID
  wait_shm "$NAME" "$RX" 20 || fail "zerosrc did not create /dev/shm/$NAME"
  expect_modes "$NAME" 660 "root:$SEC_GROUP"
  start tx "${AS_USER[@]}" "${GST_LAUNCH_CMD[@]}" videotestsrc num-buffers=30 \
    ! "$CAPS" ! zerosink buffer-name="$NAME" sync=false
  expect_exit "$PID" 60 0 "second user's zerosink"
  expect_exit "$RX" 30 0 "zerosrc"
  expect_no_error tx
  expect_no_error rx
  checksums rx >"$WORK/got"
  cmp -s "$WORK/expected" "$WORK/got" || fail "zerosrc got \
$(wc -l <"$WORK/got") frames that differ from the reference"
  assert_clean "$NAME"
  echo "ok: zerosrc mode=0660, second user's zerosink: 30 frames identical"
  ;;

names)
  # Every bad name carries TOKEN, so anything it could have created anywhere
  # is found by name; parallel tests make whole-directory diffs of /tmp and
  # /dev/shm useless.  The names without TOKEN ("", ".", "..") are checked
  # through the exact paths they would give.
  TOKEN=zbsecbad$$
  long=$TOKEN$(printf 'x%.0s' $(seq 1 $((201 - ${#TOKEN}))))
  huge=$TOKEN$(printf 'y%.0s' $(seq 1 4000))
  # name|what the detail must say
  cases=(
    "../$TOKEN|starts with '\\.'"
    "a/../$TOKEN|contains 0x2f at position 1"
    "$TOKEN/..|contains 0x2f"
    "/$TOKEN|contains 0x2f at position 0"
    "./$TOKEN|starts with '\\.'"
    ".$TOKEN|starts with '\\.'"
    ".|starts with '\\.'"
    "..|starts with '\\.'"
    "|is empty"
    "$long|longer than 200 bytes"
    "$huge|longer than 200 bytes"
    "$TOKEN x|contains 0x20"
    "$TOKEN	x|contains 0x09"
    "$TOKEN
x|contains 0x0a"
    "$TOKEN$(printf '\001')|contains 0x01"
    "$TOKEN$(printf '\177')|contains 0x7f"
    "$TOKEN*|contains 0x2a"
    "$TOKEN;x|contains 0x3b"
    "$TOKEN\$x|contains 0x24"
    "$TOKEN$(printf '\303\244')|contains 0xc3"
  )
  # Through gst-launch's parser: quoted, but no '"' or '\' in these.
  gst_cases=(0 1 3 5 7 8 9 11 12 14 17 19)

  mkdir -p "$WORK/parent/cwd"
  cd "$WORK/parent/cwd" || fail "cd"
  traces () {
    local d p
    for d in / /dev /dev/shm /tmp /tmp/zerobuffer "$WORK" "$WORK/parent" \
        "$WORK/parent/cwd" "$HOME"; do
      find "$d" -maxdepth 1 -name "*$TOKEN*" 2>/dev/null
    done
    for p in "" . ..; do
      for f in "/dev/shm/sem.sem-w-$p" "/dev/shm/sem.sem-r-$p" \
          "/tmp/zerobuffer/$p.lock"; do
        [ -e "$f" ] && echo "$f"
      done
    done
    ls -A "$WORK/parent" "$WORK/parent/cwd"
  }
  traces >"$WORK/before"
  grep -q "$TOKEN" "$WORK/before" && fail "traces of $TOKEN before the test"

  n=0
  for i in "${!cases[@]}"; do
    bad=${cases[$i]%%|*}
    want=${cases[$i]#*|}
    shown=$(printf '%q' "$bad" | cut -c1-40)
    for cmd in read write info; do
      case $cmd in
        read) args=(--payload-size 4K --timeout "$LONG_S") ;;
        write) args=(--frames 1 --size 1 --timeout "$LONG_S") ;;
        info) args=() ;;
      esac
      T0=$(now_us)
      "$ZB" "$cmd" "$bad" "${args[@]}" >"$WORK/cli.out" 2>"$WORK/cli.err"
      rc=$?
      ms=$(ms_between "$T0" "$(now_us)")
      [ $rc -ne 0 ] || fail "zerobuffer $cmd $shown: exit 0"
      [ "$ms" -lt $((5000 * SCALE)) ] \
        || fail "zerobuffer $cmd $shown: took $ms ms"
      grep -q "invalid buffer name (ZB_EBADNAME)" "$WORK/cli.err" \
        || fail "zerobuffer $cmd $shown: $(cat "$WORK/cli.err")"
      grep -q -- "$want" "$WORK/cli.err" \
        || fail "zerobuffer $cmd $shown: no '$want' in $(cat "$WORK/cli.err")"
      n=$((n + 1))
    done
  done
  echo "CLI: $n refusals (read, write, info x ${#cases[@]} names)"

  n=0
  for i in "${gst_cases[@]}"; do
    bad=${cases[$i]%%|*}
    want=${cases[$i]#*|}
    shown=$(printf '%q' "$bad" | cut -c1-40)
    start src "${GST_LAUNCH_CMD[@]}" zerosrc "buffer-name=\"$bad\"" \
      ! fakesink
    gst_refused src "$(now_us)" 20 "Invalid buffer name"
    start sink "${GST_LAUNCH_CMD[@]}" videotestsrc num-buffers=1 ! zerosink \
      "buffer-name=\"$bad\"" connect-timeout=$((LONG_S * 1000))
    gst_refused sink "$(now_us)" 20 "Invalid buffer name"
    for e in src sink; do
      cat "$WORK/$e.out" "$WORK/$e.err" >"$WORK/$e.all"
      grep -q "^ERROR: from element [^ ]*:zero${e}0: Invalid buffer name \"" \
        "$WORK/$e.all" || fail "zero$e $shown: $(head -n 5 "$WORK/$e.all")"
      grep -q -- "$want" "$WORK/$e.all" \
        || fail "zero$e $shown: no '$want' in $(head -n 5 "$WORK/$e.all")"
      n=$((n + 1))
    done
  done
  # The element's own name stands in for an unset buffer-name.
  start sink "${GST_LAUNCH_CMD[@]}" videotestsrc num-buffers=1 \
    ! zerosink "name=../$TOKEN"
  gst_refused sink "$(now_us)" 20 "Invalid buffer name \"\.\./$TOKEN\""
  echo "elements: $((n + 1)) refusals (zerosrc, zerosink)"

  traces >"$WORK/after"
  cmp -s "$WORK/before" "$WORK/after" || fail "files appeared:
$(diff "$WORK/before" "$WORK/after")"
  echo "ok: every bad name refused, nothing created"
  ;;

*)
  fail "unknown variant $VARIANT"
  ;;
esac
