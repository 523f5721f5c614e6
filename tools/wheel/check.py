#!/usr/bin/env python3
"""Checks a wheel as auditwheel would for manylinux_2_31_x86_64, with binutils
(readelf) only: every ELF file in it is x86-64, needs no GLIBC_ symbol version
above 2.31 and no GLIBCXX_/CXXABI_/GCC_ version at all (libstdc++ and libgcc
are linked in), and names no NEEDED library beyond libc, libm, libpthread,
libdl, librt and the loader; the file name carries the platform tag and the
WHEEL file says the same. Exit 1 with the reasons otherwise.

usage: check.py WHEEL
"""
import os
import re
import subprocess
import sys
import tempfile
import zipfile

TAG = "py3-none-manylinux_2_31_x86_64"
GLIBC_MAX = (2, 31)
ALLOWED = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
           "ld-linux-x86-64.so.2"}


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True,
                          check=True).stdout


def check_elf(path, name):
    problems = []
    header = readelf("-h", path)
    if "Advanced Micro Devices X86-64" not in header:
        problems.append("%s: not an x86-64 ELF file" % name)
    for lib in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf("-d", path)):
        if lib not in ALLOWED:
            problems.append("%s: needs %s (only %s)" % (name, lib, ", ".join(sorted(ALLOWED))))
    versions = set(re.findall(r"\b((?:GLIBC|GLIBCXX|CXXABI|GCC)_[0-9.]+)\b",
                              readelf("--dyn-syms", "-V", path)))
    for v in sorted(versions):
        kind, _, number = v.partition("_")
        if kind != "GLIBC":
            problems.append("%s: uses symbol version %s (libstdc++/libgcc must be linked in)"
                            % (name, v))
        elif tuple(int(x) for x in number.split(".")) > GLIBC_MAX:
            problems.append("%s: uses %s (above glibc %d.%d)" % ((name, v) + GLIBC_MAX))
    return problems, versions


def main():
    wheel = sys.argv[1]
    problems = []
    if not os.path.basename(wheel).endswith("-%s.whl" % TAG):
        problems.append("%s: the file name's tag is not %s" % (wheel, TAG))
    newest = (0, 0)
    with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
        names = z.namelist()
        wheel_files = [n for n in names if n.endswith(".dist-info/WHEEL")]
        if len(wheel_files) != 1 or ("Tag: %s" % TAG) not in z.read(wheel_files[0]).decode():
            problems.append("WHEEL does not say Tag: %s" % TAG)
        elf = 0
        for n in names:
            data = z.read(n)
            if not data.startswith(b"\x7fELF"):
                continue
            elf += 1
            path = os.path.join(tmp, "elf")
            with open(path, "wb") as f:
                f.write(data)
            p, versions = check_elf(path, n)
            problems += p
            for v in versions:
                if v.startswith("GLIBC_"):
                    newest = max(newest, tuple(int(x) for x in v[6:].split(".")))
        if elf == 0:
            problems.append("no ELF file in the wheel (the library is missing)")
    for p in problems:
        print("wheel check: " + p, file=sys.stderr)
    if problems:
        return 1
    print("wheel check: OK (%d ELF files; newest symbol version GLIBC_%s; tag %s)"
          % (elf, ".".join(map(str, newest)), TAG))
    return 0


if __name__ == "__main__":
    sys.exit(main())
