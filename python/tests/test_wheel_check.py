"""tools/wheel/check.py (make wheel's auditwheel-like check) refuses what a
manylinux_2_31 wheel must not hold: symbol versions of a newer glibc, a
shared libstdc++, a library beyond the C runtime, a wrong tag. The wheel
make wheel builds passes it (tests/wheel/test_roots.sh runs it where it
installs)."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

TAG = "py3-none-manylinux_2_31_x86_64"


def make_wheel(tmp_path, library, name=None):
    out = tmp_path / "dist"
    subprocess.run([sys.executable, str(REPO / "tools/wheel/make_wheel.py"), "--version", "0.0.0",
                    "--package", str(REPO / "python/fitwatch"), "--library", str(library),
                    "--readme", str(REPO / "docs/python.md"), "--out", str(out)],
                   check=True, capture_output=True)
    (wheel,) = out.glob("*.whl")
    if name:
        wheel = wheel.rename(out / name)
    return wheel


def check(wheel):
    r = subprocess.run([sys.executable, str(REPO / "tools/wheel/check.py"), str(wheel)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def built_library():
    path = os.path.join(os.environ.get("FITWATCH_PYTHONPATH", ""), "fitwatch", "_libfitwatch.so")
    if not os.path.exists(path):
        pytest.skip("no built library (FITWATCH_PYTHONPATH)")
    return path


def test_this_hosts_library_is_refused_for_its_glibc_versions(tmp_path):
    """Built on Debian 12 (glibc 2.36): the reason make wheel builds in Debian 11."""
    code, out = check(make_wheel(tmp_path, built_library()))
    assert code == 1
    assert "above glibc 2.31" in out


@pytest.mark.skipif(shutil.which("g++") is None, reason="no g++")
def test_a_shared_libstdcxx_is_refused(tmp_path):
    src = tmp_path / "x.cpp"
    src.write_text('#include <string>\nextern "C" int fw_x() { return (int)std::to_string(7).size(); }\n')
    lib = tmp_path / "_libfitwatch.so"
    subprocess.run(["g++", "-shared", "-fPIC", "-O1", str(src), "-o", str(lib)], check=True)
    code, out = check(make_wheel(tmp_path, lib))
    assert code == 1
    assert "needs libstdc++.so.6" in out and "GLIBCXX_" in out


def test_a_wheel_without_the_platform_tag_is_refused(tmp_path):
    wheel = make_wheel(tmp_path, built_library(), name="fitwatch-0.0.0-py3-none-any.whl")
    code, out = check(wheel)
    assert code == 1 and "tag" in out
