#!/usr/bin/env bash
# make wheel: builds dist/fitwatch-<version>-py3-none-manylinux_2_31_x86_64.whl
# the way manylinux does, with Debian's packages: inside a Debian 11
# (bullseye: glibc 2.31, GCC 10) root made with mmdebstrap, cached under
# build-wheel/ (never in git). Then checks it as auditwheel would
# (tools/wheel/check.py). Needs root (chroot), mmdebstrap and the network to
# Debian's mirror for the first root (about 2-3 minutes); later runs reuse it.
#
#   tools/wheel/build.sh            # the wheel, checked
#   FITWATCH_WHEEL_CACHE=DIR ...    # another folder for the root and the build
#
# The library is built by the project's own CMake files (python/CMakeLists.txt:
# libstdc++ and libgcc linked in, only fw_* exported), Release, -Werror.
# The fitwatch command comes along, linked statically but for glibc
# (FITWATCH_WHEEL_COMMAND=0 leaves it out): yaml-cpp from Debian 11's
# libyaml-cpp.a; simdjson from its amalgamated sources, taken from the npm
# registry (simdjson@0.9.2, pinned by hash) because Debian 11 ships it as a
# shared library only and its source package is not reachable here; no SMTP
# (FITWATCH_SMTP=OFF: libcurl's dependencies have no static builds), so
# `watch --smtp` says so and --outbox writes the emails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FITWATCH_WHEEL_CACHE:-$repo/build-wheel}
root=$cache/bullseye-root
# What the build needs from Debian 11; a change of this list makes a new root.
packages=g++,cmake,make,nlohmann-json3-dev,libfmt-dev,python3,libyaml-cpp-dev
command=${FITWATCH_WHEEL_COMMAND:-1}
simdjson_tgz=simdjson-0.9.2.tgz
simdjson_sha256=e14b0719df38e2ad6c465faf307dcb9182a0029b01ddae07b740b010a9ed46bb
mkdir -p "$cache"
if [ ! -f "$root/.fitwatch-packages" ] || [ "$(cat "$root/.fitwatch-packages")" != "$packages" ]; then
  echo "wheel: making the Debian 11 root ($root)"
  rm -rf "$root" "$root.tmp"
  mmdebstrap --quiet --variant=apt --include="$packages" bullseye "$root.tmp"
  echo "$packages" > "$root.tmp/.fitwatch-packages"
  mv "$root.tmp" "$root"
fi

# The sources as they are in the work tree (tracked and new files, not the
# ignored ones), copied into the root.
rm -rf "$root/src"
mkdir -p "$root/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf -) | tar -xf - -C "$root/src"

if [ "$command" = 1 ] && [ ! -f "$root/opt/simdjson/libsimdjson.a" ]; then
  if [ ! -f "$cache/$simdjson_tgz" ]; then
    (cd "$cache" && npm pack --silent simdjson@0.9.2 > /dev/null)
  fi
  echo "$simdjson_sha256  $cache/$simdjson_tgz" | sha256sum -c --quiet
  rm -rf "$root/opt/simdjson"
  mkdir -p "$root/opt/simdjson/include"
  tar -xzf "$cache/$simdjson_tgz" -C "$root/opt/simdjson" package/simdjson/src package/LICENSE
  cp "$root/opt/simdjson/package/simdjson/src/simdjson.h" "$root/opt/simdjson/include/"
  echo "wheel: building simdjson 0.9.1 (static)"
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root /bin/sh -euc '
    cd /opt/simdjson
    nice -n 10 g++ -std=c++17 -O2 -fPIC -DNDEBUG -c package/simdjson/src/simdjson.cpp -o simdjson.o
    ar rcs libsimdjson.a simdjson.o'
fi

echo "wheel: building the library with $(chroot "$root" g++ --version | head -1)"
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root /bin/sh -euc '
  cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DFITWATCH_WERROR=ON \
    -DFITWATCH_BUILD_TOOLS=OFF -DFITWATCH_BUILD_PYTHON=ON -DFITWATCH_WITH_TORCH=OFF \
    -DFITWATCH_INSTALL=OFF > /build.configure.log
  nice -n 10 cmake --build /build --target fitwatch_c -j2'
command_option=()
if [ "$command" = 1 ]; then
  echo "wheel: building the fitwatch command (static but for glibc, no SMTP)"
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root /bin/sh -euc '
    cmake -S /src -B /build-command -DCMAKE_BUILD_TYPE=Release -DFITWATCH_WERROR=ON \
      -DFITWATCH_BUILD_TOOLS=ON -DFITWATCH_BUILD_TESTS=OFF -DFITWATCH_BUILD_PYTHON=OFF \
      -DFITWATCH_WITH_TORCH=OFF -DFITWATCH_INSTALL=OFF -DFITWATCH_SMTP=OFF \
      -Dsimdjson_DIR=/src/tools/wheel/cmake/simdjson -Dyaml-cpp_DIR=/src/tools/wheel/cmake/yaml-cpp \
      "-DCMAKE_EXE_LINKER_FLAGS=-static-libstdc++ -static-libgcc" > /build-command.configure.log
    nice -n 10 cmake --build /build-command --target fitwatch_cli -j2
    strip -o /build-command/fitwatch.stripped /build-command/fitwatch'
  command_option=(--command "$root/build-command/fitwatch.stripped"
                  --license "$root/opt/simdjson/package/LICENSE")
fi

mkdir -p "$repo/dist"
version=$(sed -n 's/^project(fitwatch VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
python3 "$repo/tools/wheel/make_wheel.py" --version "$version" \
  --package "$repo/python/fitwatch" --library "$root/build/python/fitwatch/_libfitwatch.so" \
  --readme "$repo/docs/python.md" --out "$repo/dist" "${command_option[@]}"
wheel="$repo/dist/fitwatch-$version-py3-none-manylinux_2_31_x86_64.whl"
python3 "$repo/tools/wheel/check.py" "$wheel"
echo "$wheel"
