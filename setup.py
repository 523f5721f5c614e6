"""Builds the Python package fitwatch: python/fitwatch (pure Python, ctypes)
and the shared library it loads, _libfitwatch.so: the C ABI over the C++
library (include/fitwatch/fitwatch.h, src/c_api.cpp), built by CMake from
the same definition (CMakeLists.txt, python/CMakeLists.txt) and warnings as
every other build. The library has no Python headers in it, so the wheel is
py3-none: one for every CPython >= 3.8 (docs/python.md).

It sits at the repository root: an sdist carries src/, include/ and the CMake
files, and `pip install git+https://...` works. Offline, with Debian's tools:

    /usr/bin/python3 -m pip install --no-build-isolation .

Build requirements: a C++17 compiler, CMake >= 3.16, and nlohmann-json
(nlohmann-json3-dev; an sdist made here carries a copy). No pybind11, no
Python headers. The version is CMakeLists.txt's project(VERSION).
A prebuilt manylinux wheel: `make wheel` (tools/wheel/build.sh).
"""
import os
import re
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))
# In an sdist made by the sdist command below: nlohmann/json, copied from the
# build machine, for machines (a SageMaker image) that have no copy.
THIRD_PARTY = os.path.join("python", "third_party")
NLOHMANN = "/usr/include/nlohmann"
LIBRARY = "_libfitwatch.so"


def version():
    """CMakeLists.txt's project(fitwatch VERSION x.y.z): the one source."""
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(fitwatch VERSION ([0-9.]+)", f.read())
    if not m:
        sys.exit("setup.py: no project(fitwatch VERSION ...) in CMakeLists.txt")
    return m.group(1)


def nlohmann_arguments():
    """-D options that find nlohmann/json: the system's CMake package, else the
    sdist's copy; none: stop with what to install."""
    bundled = os.path.join(ROOT, THIRD_PARTY)
    if os.path.isfile(os.path.join(bundled, "nlohmann", "json.hpp")):
        return ["-DFITWATCH_NLOHMANN_INCLUDE_DIR=" + bundled]
    if os.path.isfile(os.path.join(NLOHMANN, "json.hpp")):
        return []
    sys.exit("fitwatch: building from source needs nlohmann/json's headers: "
             "apt-get install nlohmann-json3-dev (Debian, Ubuntu), dnf install json-devel "
             "(Fedora, Amazon Linux), or install a prebuilt wheel (make wheel)")


class BuildPy(build_py):
    """The pure-Python package, then the library built by CMake next to it."""

    def run(self):
        # A build folder of an earlier version may hold files this one no
        # longer ships (the pybind11 extension _core*.so, which Python would
        # import before _core.py): the package is laid out afresh each time.
        shutil.rmtree(os.path.join(self.build_lib, "fitwatch"), ignore_errors=True)
        super().run()
        cmake = shutil.which("cmake")
        if cmake is None:
            sys.exit("fitwatch: building from source needs CMake >= 3.16 (apt-get install cmake)")
        build = os.path.join(os.path.abspath(self.build_lib), "..", "cmake-build")
        configure = [cmake, "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                     "-DFITWATCH_BUILD_TOOLS=OFF", "-DFITWATCH_BUILD_PYTHON=ON",
                     "-DFITWATCH_WITH_TORCH=OFF", "-DFITWATCH_INSTALL=OFF"]
        launcher = os.environ.get("FITWATCH_COMPILER_LAUNCHER")
        if launcher:
            configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=" + launcher)
        configure += nlohmann_arguments()
        print("fitwatch: " + " ".join(configure), flush=True)  # pip -v shows it
        subprocess.check_call(configure)
        subprocess.check_call([cmake, "--build", build, "--target", "fitwatch_c",
                               "-j", str(os.cpu_count() or 1)])
        target = os.path.join(self.build_lib, "fitwatch")
        os.makedirs(target, exist_ok=True)
        shutil.copy(os.path.join(build, "python", "fitwatch", LIBRARY), target)


class BinaryDistribution(Distribution):
    """A package with a platform library (not an extension module)."""

    def has_ext_modules(self):
        return True


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


commands = {"build_py": BuildPy, "sdist": Sdist}
try:  # the wheel's tag: py3-none-<platform> (no CPython ABI in the library)
    from wheel.bdist_wheel import bdist_wheel

    class BdistWheel(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, platform = super().get_tag()
            return "py3", "none", platform

    commands["bdist_wheel"] = BdistWheel
except ImportError:  # no wheel package: sdist and a plain install still work
    pass

setup(
    name="fitwatch",
    version=version(),
    description="CloudWatch EMF metrics and an overfitting verdict from a PyTorch training "
                "loop (C++ core)",
    long_description=open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.8",
    package_dir={"": "python"},
    packages=["fitwatch"],
    package_data={"fitwatch": ["py.typed"]},
    distclass=BinaryDistribution,
    cmdclass=commands,
    zip_safe=False,
    # Not ./build: that is the CMake build directory of the Makefile.
    options={"build": {"build_base": "build-python"}},
)
