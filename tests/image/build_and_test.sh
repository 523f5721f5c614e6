#!/usr/bin/env bash
# Builds the training image (Dockerfile) with podman, as `make test-image`
# does, and runs its contract test (the Dockerfile's `test` stage: `train`
# under a fake /opt/ml, tests/image/contract.sh). No registry is needed:
# the base image debian:12 is a Debian 12 root made with mmdebstrap from
# Debian's packages, cached as a tarball in $CACHE (build-image/ by
# default, outside git) and `podman import`ed. `podman run` is not used
# (it cannot set rlimits on these machines); the checks run in a RUN step.
#
# usage: tests/image/build_and_test.sh          (needs root, podman, mmdebstrap)
# env:   CACHE (build-image), IMAGE (fitwatch-train), FRESH=1 (no layer cache,
#        a new base root: the cost from scratch)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CACHE:-$src/build-image}
image=${IMAGE:-fitwatch-train}
base=$cache/debian12-base.tar
mkdir -p "$cache"
for tool in podman mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "build_and_test.sh: apt-get install $tool" >&2; exit 2; }
done

t0=$(date +%s)
lap() { echo "== $1: $(( $(date +%s) - t0 )) s so far"; }
no_cache=()
if [ "${FRESH:-0}" = 1 ]; then
  rm -f "$base"
  podman rmi -f localhost/debian:12 "$image" "$image-test" >/dev/null 2>&1 || true
  no_cache=(--no-cache)
fi

# The base: what `FROM debian:12` finds. The same suites as the host's
# sources (bookworm, -updates, -security), the apt variant (apt and its
# essentials, like Docker Hub's debian:12).
if [ ! -s "$base" ]; then
  echo "== mmdebstrap: a Debian 12 root -> $base"
  mirror=${MIRROR:-http://deb.debian.org/debian}
  nice -n 10 mmdebstrap --quiet --format=tar --variant=apt bookworm "$base.tmp" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb ${SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main"
  mv "$base.tmp" "$base"
  podman rmi -f localhost/debian:12 >/dev/null 2>&1 || true
  lap "base root"
fi
if ! podman image exists localhost/debian:12; then
  podman import --quiet "$base" debian:12 >/dev/null
  lap "podman import"
fi

build() {
  nice -n 10 podman build --isolation=chroot --network=host --pull=never "${no_cache[@]}" \
    --file "$src/Dockerfile" "$@" "$src"
}
# The test stage first: it builds the image stage and checks it.
set +e
build --target test --tag "$image-test" 2>&1 | tee "$cache/podman-build-test.log" \
  | grep --line-buffered -E '^(\[[0-9]+/[0-9]+\] )?STEP|^contract:|COMMIT|[Ee]rror'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || { tail -n 40 "$cache/podman-build-test.log"; exit 1; }
grep -q '^contract: passed' "$cache/podman-build-test.log" \
  || { echo "build_and_test.sh: the contract test did not run" >&2; exit 1; }
lap "image built and contract checked"
# The image itself (the stage the test checked): every layer is cached by now.
build --target image --tag "$image" > "$cache/podman-build.log" 2>&1 \
  || { tail -n 40 "$cache/podman-build.log"; exit 1; }
podman image inspect --format '{{.Size}}' "$image" | awk '{printf "== image %s: %.0f MB\n", "'"$image"'", $1 / 1e6}'
lap "done"
