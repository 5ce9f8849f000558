# Helpers for the gst-launch tests (gst-*.sh), on top of common.sh.
#
# meson passes: ZEROBUFFER (the tool), GST_LAUNCH and GST_INSPECT, our
# plugin directory in GST_PLUGIN_PATH_1_0, a private directory holding only
# the system plugins we use in GST_PLUGIN_SYSTEM_PATH_1_0, the build
# directory for registries in ZB_GST_REGISTRY_DIR, the b_sanitize option in
# ZB_SANITIZE and, in ASan builds, the ASan runtime in ZB_ASAN_RUNTIME.
#
# A script sets VARIANT (may be empty) before sourcing this file.

source "$(dirname "$0")/common.sh"

: "${GST_LAUNCH:?set GST_LAUNCH to gst-launch-1.0 (meson does)}"
: "${GST_INSPECT:?set GST_INSPECT to gst-inspect-1.0 (meson does)}"
: "${ZB_GST_REGISTRY_DIR:?set ZB_GST_REGISTRY_DIR (meson does)}"
VARIANT=${VARIANT:-}
ZB_SANITIZE=${ZB_SANITIZE:-none}

# One registry per test (and variant), so parallel tests never share one.
GST_REGISTRY_1_0="$ZB_GST_REGISTRY_DIR/$TEST${VARIANT:+-$VARIANT}.registry"
export GST_REGISTRY_1_0
# Our elements must not be confused by a user's debug settings.
unset GST_DEBUG GST_DEBUG_FILE GST_TRACERS
export GST_DEBUG_NO_COLOR=1

# gst-launch-1.0 is not instrumented; an ASan plugin only loads into it
# with the runtime preloaded, scanned in-process (a forked scanner would not
# have it), and with leak checking off (GLib and GStreamer keep memory
# until exit by design).  `env` execs, so $! is gst-launch's own pid.
GST_RUN=(env)
case ",$ZB_SANITIZE," in
  *,address,*)
    if [ -z "${ZB_ASAN_RUNTIME:-}" ] || [ ! -f "$ZB_ASAN_RUNTIME" ]; then
      echo "SKIP: ASan build but no ASan runtime to preload into" \
        "gst-launch-1.0 ('${ZB_ASAN_RUNTIME:-}')"
      exit 77
    fi
    GST_RUN=(env "LD_PRELOAD=$ZB_ASAN_RUNTIME${LD_PRELOAD:+:$LD_PRELOAD}"
      "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
      GST_REGISTRY_FORK=no)
    ;;
  *,thread,*|*,memory,*)
    echo "SKIP: gst-launch-1.0 cannot load a $ZB_SANITIZE-instrumented plugin"
    exit 77
    ;;
esac
GST_LAUNCH_CMD=("${GST_RUN[@]}" "$GST_LAUNCH")
GST_INSPECT_CMD=("${GST_RUN[@]}" "$GST_INSPECT")

# Build the registry now, so no timed step pays for a plugin scan, and
# check what we rely on is there: our plugin must load, the system plugins
# may be missing (then skip).
"${GST_INSPECT_CMD[@]}" zerosrc >"$WORK/inspect.out" 2>"$WORK/inspect.err" \
  || fail "gst-inspect-1.0 cannot find zerosrc in $GST_PLUGIN_PATH_1_0"
"${GST_INSPECT_CMD[@]}" zerosink >/dev/null 2>&1 \
  || fail "gst-inspect-1.0 cannot find zerosink in $GST_PLUGIN_PATH_1_0"
for f in videotestsrc checksumsink fakesink capsfilter identity; do
  "${GST_INSPECT_CMD[@]}" --exists "$f" \
    || { echo "SKIP: system element $f is not installed"; exit 77; }
done

# gst_start LOG PIPELINE...: gst-launch-1.0 in the background (see start).
gst_start () {
  local log=$1
  shift
  start "$log" "${GST_LAUNCH_CMD[@]}" "$@"
}

# gst_start_env LOG VAR=VALUE... -- PIPELINE...: same, with extra
# environment (GST_DEBUG, ...).
gst_start_env () {
  local log=$1 vars=()
  shift
  while [ "$1" != "--" ]; do
    vars+=("$1")
    shift
  done
  shift
  start "$log" env "${vars[@]}" "${GST_LAUNCH_CMD[@]}" "$@"
}

# wait_in FILE REGEX SECONDS: wait until FILE (under $WORK) has a line
# matching REGEX.
wait_in () {
  local file="$WORK/$1" re=$2 deadline
  deadline=$(( $(now_us) + $3 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    grep -qE -- "$re" "$file" 2>/dev/null && return 0
    sleep 0.01
  done
  return 1
}

# wait_shm NAME PID SECONDS: wait until the reader (PID) created
# /dev/shm/NAME; fails at once if the reader died first.
wait_shm () {
  local deadline
  deadline=$(( $(now_us) + $3 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    [ -e "/dev/shm/$1" ] && [ -e "/dev/shm/sem.sem-r-$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.01
  done
  return 1
}

# info_field NAME FIELD: one number from `zerobuffer info NAME`.
info_field () {
  "$ZB" info "$1" 2>/dev/null | sed -n "s/^$2: \([0-9]*\).*/\1/p"
}

# wait_info_le NAME FIELD MAX SECONDS: wait until FIELD <= MAX.
wait_info_le () {
  local deadline v
  deadline=$(( $(now_us) + $4 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    v=$(info_field "$1" "$2")
    [ -n "$v" ] && [ "$v" -le "$3" ] && return 0
    sleep 0.01
  done
  return 1
}

# wait_sigint_handler PID SECONDS: wait until PID catches SIGINT.  A
# background job of a non-interactive shell starts with SIGINT ignored, and
# gst-launch-1.0 installs its handler only after its pipeline started: a
# SIGINT sent earlier would be lost.
wait_sigint_handler () {
  local deadline mask
  deadline=$(( $(now_us) + $2 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
    [ -n "$mask" ] && (( (16#$mask >> 1) & 1 )) && return 0
    sleep 0.01
  done
  return 1
}

# wait_thread_asleep PID THREAD SECONDS: wait until PID has a thread named
# THREAD (GStreamer names a streaming thread after its pad, e.g.
# "zerosrc0:src"; the kernel keeps 15 bytes of it) and the kernel shows it
# asleep (state S).  A streaming thread that sleeps is blocked in a wait:
# that is how a test knows an element is waiting, without reading its
# debug log.  Fails at once if PID died.
wait_thread_asleep () {
  local deadline t comm=${2:0:15}
  deadline=$(( $(now_us) + $3 * 1000000 ))
  while [ "$(now_us)" -lt "$deadline" ]; do
    kill -0 "$1" 2>/dev/null || return 1
    for t in /proc/"$1"/task/*; do
      [ "$(cat "$t/comm" 2>/dev/null)" = "$comm" ] || continue
      [ "$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "$t/stat" 2>/dev/null)" = S ] \
        && return 0
    done
    sleep 0.01
  done
  return 1
}

# in_log LOG REGEX: gst-launch prints messages on stdout and errors on
# stderr; look in both.
in_log () {
  grep -qE -- "$2" "$WORK/$1.out" "$WORK/$1.err" 2>/dev/null
}

expect_log () {
  in_log "$1" "$2" || fail "$1: no line matching '$2'"
}

# expect_msg LOG KIND ELEMENT REGEX: gst-launch printed "KIND: from element
# .../ELEMENT: <text matching REGEX>" (KIND is ERROR or WARNING).
expect_msg () {
  expect_log "$1" "^$2: from element [^ ]*:$3: $4"
}

# No element posted an error (gst-launch prints "ERROR: from element").
expect_no_error () {
  ! in_log "$1" '^ERROR' || fail "$1: unexpected error"
}

# expect_exit PID SECONDS WANT LABEL: PID exits within SECONDS with WANT
# ("0", "nonzero" or a number).
expect_exit () {
  wait_exit "$1" "$2" || fail "$4 still running after $2 s"
  case $3 in
    nonzero) [ "$RC" -ne 0 ] || fail "$4 exited 0, expected a failure" ;;
    *) [ "$RC" -eq "$3" ] || fail "$4 exited $RC, expected $3" ;;
  esac
}

# checksums LOG: the "PTS SHA1" lines checksumsink printed, in order.
checksums () {
  grep -E '^[0-9]+:[0-9]{2}:[0-9]{2}\.[0-9]{9} [0-9a-f]{40}$' "$WORK/$1.out"
}

# gst_time NS: a time as GST_TIME_FORMAT prints it.
gst_time () {
  local ns=$1
  printf '%u:%02u:%02u.%09u' $((ns / 3600000000000)) \
    $((ns / 60000000000 % 60)) $((ns / 1000000000 % 60)) $((ns % 1000000000))
}

# pad_caps LOG ELEMENT PAD: the caps gst-launch -v printed for a pad.
pad_caps () {
  sed -n "s|^/GstPipeline:pipeline0/[A-Za-z]*:$2\.GstPad:$3: caps = ||p" \
    "$WORK/$1.out" | head -n 1
}

# uuid_name: a fresh uuid-like buffer name carrying our pid, in NAME.
uuid_name () {
  NAME_COUNTER=$((NAME_COUNTER + 1))
  NAME=$(printf '%08x-%04x-4%03x-a%03x-%012x' $$ $NAME_COUNTER \
    $((RANDOM % 4096)) $((RANDOM % 4096)) $(( $(now_us) % 281474976710656 )))
  ALL_NAMES+=("$NAME")
}
