"""Builds the Python package fitwatch: python/fitwatch (pure Python) and the
extension fitwatch._core, which compiles python/src/bindings.cpp together with
the C++ library's own sources (src/*.cpp), so the library is linked in
statically and no second implementation exists.

It sits at the repository root, not in python/, because it compiles src/ and
include/: from the root, an sdist carries them, and
`pip install git+https://...` works; a setup.py in python/ would reach
outside its own folder. Offline, with Debian's build tools:

    /usr/bin/python3 -m pip install --no-build-isolation .

Build requirements: a C++17 compiler, Python headers (python3-dev),
pybind11 (pybind11-dev, or the pybind11 package from PyPI) and nlohmann-json
(nlohmann-json3-dev; an sdist made here carries a copy). docs/python.md.
"""
import glob
import os
import shutil
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

ROOT = os.path.dirname(os.path.abspath(__file__))
# In an sdist made by the sdist command below: nlohmann/json, copied from the
# build machine, for machines (a SageMaker image) that have no copy.
THIRD_PARTY = os.path.join("python", "third_party")
NLOHMANN = "/usr/include/nlohmann"


def include_dirs():
    dirs = ["include", "src"]
    if os.path.isdir(os.path.join(ROOT, THIRD_PARTY)):
        dirs.append(THIRD_PARTY)
    try:  # the pybind11 package from PyPI (pip's isolated build); Debian's
        import pybind11  # pybind11-dev puts the headers in /usr/include

        dirs.append(pybind11.get_include())
    except ImportError:
        pass
    return dirs


class BuildExt(build_ext):
    """C++17, hidden symbols, both cores; -static-libstdc++ on request."""

    def build_extensions(self):
        flags = ["-std=c++17", "-fvisibility=hidden", "-g0", "-Wall", "-Wextra"]
        link = []
        if os.environ.get("FITWATCH_STATIC_LIBSTDCXX") == "1":
            link += ["-static-libstdc++", "-static-libgcc"]
        for ext in self.extensions:
            ext.extra_compile_args = flags
            ext.extra_link_args = link
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1
        super().build_extensions()


class Sdist(sdist):
    """Puts a copy of nlohmann/json (MIT) into the sdist."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        if not os.path.isdir(NLOHMANN):
            sys.exit("setup.py sdist: %s not found (apt-get install nlohmann-json3-dev)" % NLOHMANN)
        target = os.path.join(base_dir, THIRD_PARTY, "nlohmann")
        shutil.copytree(NLOHMANN, target)
        copyright_file = "/usr/share/doc/nlohmann-json3-dev/copyright"
        if os.path.exists(copyright_file):
            shutil.copy(copyright_file, os.path.join(target, "COPYRIGHT"))


os.makedirs(os.path.join(ROOT, "build-python"), exist_ok=True)
sources = ["python/src/bindings.cpp"] + sorted(glob.glob("src/*.cpp"))

setup(
    name="fitwatch",
    version="0.1.0",
    description="CloudWatch EMF metrics and an overfitting verdict from a PyTorch training "
                "loop (C++ core)",
    long_description=open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.7",
    package_dir={"": "python"},
    packages=["fitwatch"],
    package_data={"fitwatch": ["py.typed", "*.pyi"]},
    ext_modules=[Extension("fitwatch._core", sources, include_dirs=include_dirs(),
                           language="c++")],
    cmdclass={"build_ext": BuildExt, "sdist": Sdist},
    zip_safe=False,
    # Not ./build: that is the CMake build directory of the Makefile.
    options={"build": {"build_base": "build-python"}, "egg_info": {"egg_base": "build-python"}},
)
