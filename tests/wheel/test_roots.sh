#!/usr/bin/env bash
# The wheel where it will run (issue #22): fresh Debian 11, 12 and 13 roots
# made with mmdebstrap, each with its own Python and glibc, holding python3
# and python3-venv only: no compiler, and no network inside (a network
# namespace of its own). In each:
#   - pip install the wheel into a venv, offline;
#   - run the README's Python block (between <!-- readme-python:begin/end -->)
#     and check its three EMF lines;
#   - when the wheel carries the fitwatch command: pipe `fitwatch emit` of an
#     overfitting curve into `fitwatch replay` of
#     templates/overfitting-alerts.yaml and check that it writes the email.
# The roots are made once and cached as tar files in build-wheel/roots/
# (FITWATCH_WHEEL_CACHE); each run unpacks a fresh copy. Needs root.
#
#   tests/wheel/test_roots.sh [WHEEL] [SUITE...]   (default: dist/'s wheel; bullseye bookworm trixie)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FITWATCH_WHEEL_CACHE:-$repo/build-wheel}/roots
wheel=${1:-$(ls "$repo"/dist/fitwatch-*-py3-none-manylinux_2_31_x86_64.whl 2>/dev/null | tail -1)}
[ -f "$wheel" ] || { echo "test_roots: no wheel (make wheel first)" >&2; exit 2; }
shift || true
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bullseye bookworm trixie)
mkdir -p "$cache"

# What runs inside: python3 and its venv only.
work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$wheel" "$work/"
cp "$repo/templates/overfitting-alerts.yaml" "$work/"
python3 - "$repo/README.md" "$work/readme.py" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"<!-- readme-python:begin -->\s*```python\n(.*?)```\s*<!-- readme-python:end -->",
                    text, re.DOTALL)
assert len(blocks) == 1, "README.md needs one python block between the readme-python markers"
open(sys.argv[2], "w", encoding="utf-8").write(blocks[0])
PY
cat > "$work/inside.sh" <<'SH'
set -eu
cd /work
for c in gcc cc g++ c++ clang; do
  if command -v "$c" >/dev/null; then echo "FAIL: a compiler ($c) is in the root"; exit 1; fi
done
if python3 -c 'import socket; socket.create_connection(("deb.debian.org", 80), 3)' 2>/dev/null; then
  echo "FAIL: the network is reachable inside"; exit 1
fi
python3 -m venv /venv
/venv/bin/pip install -q --no-index --no-cache-dir --disable-pip-version-check ./fitwatch-*.whl
/venv/bin/python readme.py > readme.out
/venv/bin/python - <<'PY'
import json
lines = open("readme.out").read().splitlines()
events = [json.loads(l) for l in lines]
# The README's block: one line per epoch of its job until the monitor says
# stop, which it does (the curve overfits), before the last epoch.
assert events and all("_aws" in e for e in events), lines
assert [e["Epoch"] for e in events] == list(range(1, len(events) + 1)), events
assert all(e["TrainingJobName"] == "my-job" for e in events), events
assert events[-1]["OverfittingDetected"] == 1 and len(events) < 16, events
assert [e["OverfittingDetected"] for e in events[:-1]] == [0] * (len(events) - 1), events
import fitwatch, platform
print("README block: %d EMF lines, overfitting at epoch %d; Python %s, glibc %s, fitwatch %s"
      % (len(events), events[-1]["Epoch"], platform.python_version(), platform.libc_ver()[1],
         fitwatch.__version__))
PY
if [ -x /venv/bin/fitwatch ]; then
  /venv/bin/python -c '
import json
for e in range(1, 41):  # the validation loss turns up at epoch 10: overfitting
    v = 1.0 / e if e <= 10 else 0.1 + 0.02 * (e - 10)
    print(json.dumps({"epoch": e, "train_loss": 1.0 / e, "val_loss": v,
                      "timestamp": 1700000000000 + 60000 * e}))' > curve.jsonl
  /venv/bin/fitwatch emit --job-name wheel-job < curve.jsonl |
    /venv/bin/fitwatch replay --template overfitting-alerts.yaml \
      --param TrainingJobName=wheel-job --param TeamEmails=team@example.com --outbox outbox > replay.out
  ls outbox/*wheel-job-fitwatch-alert-ALARM*.eml >/dev/null ||
    { echo "FAIL: no ALARM email"; cat replay.out; exit 1; }
  grep -q "^To: team@example.com" outbox/*ALARM*.eml || { echo "FAIL: the email's To"; exit 1; }
  echo "command: emit | replay wrote $(ls outbox | wc -l) email(s): $(ls outbox)"
else
  echo "command: not in this wheel (skipped)"
fi
echo PASS
SH

failed=0
for suite in "${suites[@]}"; do
  start=$(date +%s)
  if [ ! -f "$cache/$suite.tar" ]; then
    echo "test_roots: making the $suite root (python3, python3-venv)"
    mmdebstrap --quiet --variant=apt --include=python3,python3-venv "$suite" "$cache/$suite.tmp.tar"
    mv "$cache/$suite.tmp.tar" "$cache/$suite.tar"
  fi
  root="$work/root-$suite"
  mkdir -p "$root"
  tar -xf "$cache/$suite.tar" -C "$root"
  mkdir -p "$root/work"
  cp -r "$work"/fitwatch-*.whl "$work"/overfitting-alerts.yaml "$work"/readme.py "$work"/inside.sh "$root/work/"
  # A mount and network namespace of its own: /proc and /dev for Python,
  # only a loopback device that is down.
  if unshare --net --mount --fork /bin/sh -c "
      mount -t proc proc '$root/proc' && mount --rbind /dev '$root/dev' &&
      chroot '$root' /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 /bin/sh /work/inside.sh" \
      > "$work/$suite.log" 2>&1; then
    result=PASS
  else
    result=FAIL
    failed=1
  fi
  sed "s/^/  $suite: /" "$work/$suite.log"
  echo "test_roots: $suite $result ($(($(date +%s) - start)) s)"
  rm -rf "$root"
done
[ $failed = 0 ] && echo "test_roots: all passed" || echo "test_roots: FAILED"
exit $failed
