# Run the sourcing script in a private mount namespace with its own empty
# /dev/shm and /tmp/zerobuffer, so that it sees only its own buffers and
# may compare both directories whole: every reader created anywhere
# removes the stale buffers of all names, and tests running in parallel
# create readers all the time.  Needs root (or unshare -m); a skip (77)
# otherwise.  Source it first thing, with the script's arguments:
#   source "$(dirname "$0")/private-ns.sh" "$@"
if [ -z "${ZB_PRIVATE_NS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null \
      || ! unshare -m true 2>/dev/null; then
    echo "SKIP: no private mount namespace here (needs root and unshare -m)"
    exit 77
  fi
  exec unshare -m env ZB_PRIVATE_NS=1 bash "$0" "$@"
fi
if ! mount --make-rprivate / \
    || ! mount -t tmpfs -o mode=1777,size=256m tmpfs /dev/shm \
    || ! mkdir -p /tmp/zerobuffer \
    || ! mount -t tmpfs -o mode=1777,size=1m tmpfs /tmp/zerobuffer; then
  echo "SKIP: cannot mount a private /dev/shm and /tmp/zerobuffer"
  exit 77
fi

# dir_state DIR: names, inodes and sizes of its entries, sorted.
dir_state () {
  (cd "$1" && find . -mindepth 1 -maxdepth 1 -printf '%f %i %s\n' | sort)
}

# host_state: both directories.
host_state () {
  echo "== /dev/shm"
  dir_state /dev/shm
  echo "== /tmp/zerobuffer"
  dir_state /tmp/zerobuffer
}
