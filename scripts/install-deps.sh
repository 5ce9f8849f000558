#!/usr/bin/env bash
# Installs from Debian 12's archive whatever the build, tests and demo need
# and this machine lacks.  Needs root only when something is missing.
set -euo pipefail
pkgs="meson ninja-build pkg-config gcc clang libclang-rt-14-dev valgrind
  libglib2.0-dev libjson-glib-dev libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages:$missing (run as root, or install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends $missing
