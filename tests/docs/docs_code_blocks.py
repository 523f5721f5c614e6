"""Compiles every ```cpp block of the given Markdown files against the
library with -Wall -Wextra -Wpedantic -Werror, so that no example in the
docs rots or warns.

A block that is a fragment (not a whole program) opts out with this exact
first line:

    // fragment: not compiled

Usage: docs_code_blocks.py --cxx CXX --include DIR --library LIB --out DIR
       [--flag FLAG ...] FILE.md ...
"""
import argparse
import pathlib
import re
import subprocess
import sys

FRAGMENT = "// fragment: not compiled"
BLOCK = re.compile(r"^```cpp\n(.*?)^```", re.MULTILINE | re.DOTALL)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cxx", required=True)
    p.add_argument("--include", required=True)
    p.add_argument("--library", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--flag", action="append", default=[])
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    compiled = skipped = 0
    failures = []
    for md in a.files:
        text = pathlib.Path(md).read_text(encoding="utf-8")
        for n, m in enumerate(BLOCK.finditer(text), 1):
            code = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            where = "%s:%d" % (md, line)
            if code.startswith(FRAGMENT):
                skipped += 1
                continue
            src = out / ("%s_%d.cpp" % (pathlib.Path(md).stem, n))
            src.write_text(code, encoding="utf-8")
            cmd = [a.cxx, "-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                   *a.flag, "-I", a.include, str(src), a.library, "-pthread",
                   "-o", str(src.with_suffix(""))]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                failures.append("%s: the cpp block does not compile warning-clean:\n%s"
                                % (where, r.stderr))
            compiled += 1
    for f in failures:
        print(f, file=sys.stderr)
    print("%d cpp blocks compiled, %d fragments skipped, %d failed"
          % (compiled, skipped, len(failures)))
    if compiled == 0:
        print("no cpp block found: the test would check nothing", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
