#!/usr/bin/env bash
# Installs the Debian packages of the named lists (deps/<list>.txt) that are
# not installed yet; does nothing, and calls no apt-get, when none is missing.
#   deps/install.sh build test
# A line is a package name, optionally followed by `cmd:NAME`: the package
# counts as present when the command NAME is on PATH (npm: Node.js from
# NodeSource bundles it, and conflicts with Debian's npm package).
# The one source of the package lists: the Makefile, .ci/run and the
# Dockerfile all call this. APT_OPTIONS adds options to apt-get install
# (the image: --no-install-recommends). apt-get needs root (or sudo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wanted=()
for list in "$@"; do
  [ -f "$here/$list.txt" ] || { echo "deps/install.sh: no list deps/$list.txt" >&2; exit 2; }
  while read -r name alt _; do
    [ -z "$name" ] || [ "${name#\#}" != "$name" ] && continue
    [ "${alt#cmd:}" != "${alt:-}" ] && command -v "${alt#cmd:}" > /dev/null && continue
    wanted+=("$name")
  done < "$here/$list.txt"
done
missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
# shellcheck disable=SC2086 # APT_OPTIONS is a list of options
log=$(mktemp)
# apt-get's progress goes to a log, shown only when it fails.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ${APT_OPTIONS:-} "${missing[@]}" > "$log" 2>&1 \
  || { cat "$log" >&2; rm -f "$log"; echo "deps/install.sh: apt-get install failed" >&2; exit 1; }
rm -f "$log"
