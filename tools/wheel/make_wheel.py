#!/usr/bin/env python3
"""Assembles the wheel fitwatch-VERSION-py3-none-manylinux_2_31_x86_64.whl
(PEP 427) from the pure-Python package, the C ABI library built in the
Debian 11 root and, when given, the fitwatch command (a console entry point
that runs the bundled executable). Deterministic: fixed file times and order.

usage: make_wheel.py --version V --package python/fitwatch --library LIB
                     --readme docs/python.md --out dist [--command EXE --license FILE]
"""
import argparse
import base64
import hashlib
import os
import zipfile

TAG = "py3-none-manylinux_2_31_x86_64"
EPOCH = (2020, 1, 1, 0, 0, 0)  # zip cannot hold 1970; any fixed time will do


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--version", required=True)
    p.add_argument("--package", required=True)
    p.add_argument("--library", required=True)
    p.add_argument("--readme", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--command")
    p.add_argument("--license", action="append", default=[],
                   help="a license file of something linked into the command")
    a = p.parse_args()

    files = []  # (archive name, bytes, executable)
    for name in sorted(os.listdir(a.package)):
        path = os.path.join(a.package, name)
        if name.endswith(".py") or name == "py.typed":
            with open(path, "rb") as f:
                files.append(("fitwatch/" + name, f.read(), False))
    with open(a.library, "rb") as f:
        files.append(("fitwatch/_libfitwatch.so", f.read(), False))
    if a.command:
        with open(a.command, "rb") as f:
            files.append(("fitwatch/_bin/fitwatch", f.read(), True))

    dist_info = "fitwatch-%s.dist-info" % a.version
    with open(a.readme, encoding="utf-8") as f:
        readme = f.read()
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: fitwatch",
        "Version: " + a.version,
        "Summary: CloudWatch EMF metrics and an overfitting verdict from a PyTorch training "
        "loop (C++ core)",
        "Requires-Python: >=3.8",
        "Description-Content-Type: text/markdown",
        "", readme])
    wheel = "\n".join(["Wheel-Version: 1.0", "Generator: fitwatch tools/wheel/make_wheel.py",
                       "Root-Is-Purelib: false", "Tag: " + TAG, ""])
    files.append((dist_info + "/METADATA", metadata.encode(), False))
    files.append((dist_info + "/WHEEL", wheel.encode(), False))
    if a.command:
        entry = "[console_scripts]\nfitwatch = fitwatch._command:main\n"
        files.append((dist_info + "/entry_points.txt", entry.encode(), False))
    files.append((dist_info + "/top_level.txt", b"fitwatch\n", False))
    for path in a.license:  # simdjson's (Apache-2.0), linked into the command
        with open(path, "rb") as f:
            files.append((dist_info + "/licenses/simdjson-" + os.path.basename(path), f.read(),
                          False))
    record = "".join("%s,%s,%d\n" % (n, record_hash(d), len(d)) for n, d, _ in files)
    record += dist_info + "/RECORD,,\n"
    files.append((dist_info + "/RECORD", record.encode(), False))

    os.makedirs(a.out, exist_ok=True)
    out = os.path.join(a.out, "fitwatch-%s-%s.whl" % (a.version, TAG))
    with zipfile.ZipFile(out + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, executable in files:
            info = zipfile.ZipInfo(name, EPOCH)
            # pip makes a file executable only if its mode says regular file too
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(out + ".tmp", out)
    print(out)


if __name__ == "__main__":
    main()
