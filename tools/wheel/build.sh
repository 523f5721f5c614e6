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
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FITWATCH_WHEEL_CACHE:-$repo/build-wheel}
root=$cache/bullseye-root
# What the build needs from Debian 11; a change of this list makes a new root.
packages=g++,cmake,make,nlohmann-json3-dev,libfmt-dev,python3
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

echo "wheel: building the library with $(chroot "$root" g++ --version | head -1)"
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root /bin/sh -euc '
  cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DFITWATCH_WERROR=ON \
    -DFITWATCH_BUILD_TOOLS=OFF -DFITWATCH_BUILD_PYTHON=ON -DFITWATCH_WITH_TORCH=OFF \
    -DFITWATCH_INSTALL=OFF > /build.configure.log
  nice -n 10 cmake --build /build --target fitwatch_c -j2'

mkdir -p "$repo/dist"
version=$(sed -n 's/^project(fitwatch VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
python3 "$repo/tools/wheel/make_wheel.py" --version "$version" \
  --package "$repo/python/fitwatch" --library "$root/build/python/fitwatch/_libfitwatch.so" \
  --readme "$repo/docs/python.md" --out "$repo/dist"
wheel="$repo/dist/fitwatch-$version-py3-none-manylinux_2_31_x86_64.whl"
python3 "$repo/tools/wheel/check.py" "$wheel"
echo "$wheel"
