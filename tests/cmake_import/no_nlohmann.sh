#!/usr/bin/env bash
# find_package(fitwatch) where nlohmann_json is not installed: a Debian 12
# root made with mmdebstrap holding g++, cmake and make only (no
# nlohmann-json3-dev), the package installed there from a build of this
# checkout, and the consumer project of tests/cmake_import (its main.cpp and
# the README's example) configured, built and run inside it with chroot.
# nlohmann_json is a private, header-only dependency of the static library:
# the consumer must need none of it.
#
# usage: tests/cmake_import/no_nlohmann.sh BUILD_DIR   (a built fitwatch, e.g. build/;
#        needs root and mmdebstrap; the root is cached in $CACHE, build-image/)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: no_nlohmann.sh BUILD_DIR}" && pwd)
cache=${CACHE:-$src/build-image}
tarball=$cache/debian12-cxx.tar
mkdir -p "$cache"
t0=$(date +%s)

if [ ! -s "$tarball" ]; then
  mirror=${MIRROR:-http://deb.debian.org/debian}
  nice -n 10 mmdebstrap --quiet --format=tar --variant=apt --include=g++,cmake,make bookworm "$tarball.tmp" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb ${SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main"
  mv "$tarball.tmp" "$tarball"
  echo "== mmdebstrap (g++, cmake, make): $(( $(date +%s) - t0 )) s"
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
tar -C "$root" -xf "$tarball"
# The point of the test: no nlohmann_json in the root, as a package or a header.
if chroot "$root" dpkg-query -W -f='${Status}' nlohmann-json3-dev 2>/dev/null | grep -q installed \
    || [ -e "$root/usr/include/nlohmann" ] \
    || [ -n "$(find "$root/usr" -name 'nlohmann_jsonConfig.cmake' -print -quit)" ]; then
  echo "no_nlohmann.sh: the root has nlohmann_json; the test would prove nothing" >&2
  exit 1
fi

# The package, installed into the root as `cmake --install` installs it.
cmake --install "$build" --prefix "$root/opt/fitwatch" > /dev/null
mkdir -p "$root/src"
cp "$src/tests/cmake_import/CMakeLists.txt" "$src/tests/cmake_import/main.cpp" "$root/src/"
# The README's example, cut out between its markers (as run.cmake does).
python3 - "$src/README.md" "$root/src/readme_example.cpp" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"<!-- readme-example:begin -->[^`]*```cpp\n(.*?)```[^`]*<!-- readme-example:end -->",
              text, re.S)
if not m:
    sys.exit("README.md has no example between the readme-example markers")
open(sys.argv[2], "w", encoding="utf-8").write(m.group(1))
PY

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root "$@"; }
in_root cmake -S /src -B /src/build -DCMAKE_PREFIX_PATH=/opt/fitwatch \
  -DREADME_EXAMPLE=/src/readme_example.cpp > "$root/configure.log" 2>&1 \
  || { cat "$root/configure.log"; echo "no_nlohmann.sh: find_package(fitwatch) failed" >&2; exit 1; }
in_root cmake --build /src/build -j 2 > "$root/build.log" 2>&1 || { cat "$root/build.log"; exit 1; }
# Their EMF lines, parsed: the value each one must carry.
has_value() {  # PROGRAM KEY VALUE
  in_root "/src/build/$1" | python3 -c '
import json, sys
key, want = sys.argv[1], float(sys.argv[2])
events = [json.loads(l) for l in sys.stdin if l.startswith("{")]
sys.exit(0 if any(e.get(key) == want for e in events) else "%s: no %s=%s in %r" % (sys.argv[3], key, want, events))
' "$2" "$3" "$1"
}
has_value consumer ConsumerMetric 1
has_value readme_example ValidationLoss 0.61
echo "no_nlohmann.sh: find_package(fitwatch) and the README example built and ran without" \
     "nlohmann_json ($(( $(date +%s) - t0 )) s)"
