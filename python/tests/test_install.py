"""pip builds and installs the package offline, with Debian's build tools
only, into a fresh virtual environment (docs/python.md). Slow (it compiles
the library): a ctest entry of its own, python_pip_install."""
import glob
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from conftest import REPO, emf_lines, validate

PYTHON = "/usr/bin/python3"
OFFLINE = dict(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9")


def sh(*cmd, cwd=None, env=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, "%s\n%s\n%s" % (" ".join(map(str, cmd)), r.stdout[-3000:], r.stderr[-3000:])
    return r


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV", "FITWATCH_PYTHONPATH"))}
    env.update(OFFLINE)
    if shutil.which("ccache"):  # the same sources, compiled again: ccache saves minutes
        env.setdefault("CC", "ccache x86_64-linux-gnu-gcc")
        env.setdefault("CXX", "ccache x86_64-linux-gnu-g++")
    return env


@pytest.mark.parametrize("kind", ["system-site-packages", "plain"])
def test_pip_install_into_a_fresh_venv_offline(tmp_path, cli, kind):
    env = clean_env()
    venv = tmp_path / "venv"
    sh(PYTHON, "-m", "venv", *(["--system-site-packages"] if kind != "plain" else []), str(venv),
       env=env)
    py = str(venv / "bin" / "python")
    if kind == "plain":  # pip's PEP 517 build needs wheel: Debian's python3-wheel-whl
        wheels = sorted(glob.glob("/usr/share/python-wheels/wheel-*.whl"))
        assert wheels, "apt-get install python3-wheel-whl"
        sh(py, "-m", "pip", "install", wheels[-1], env=env)
    sh(py, "-m", "pip", "install", "--no-build-isolation", str(REPO), env=env)
    code = ("import fitwatch, sys\n"
            "assert fitwatch.__file__.startswith(sys.prefix), fitwatch.__file__\n"
            "m = fitwatch.Monitor(job_name='venv')\n"
            "for e in range(1, 4): m.observe(e, 1.0 / e, 1.2 / e)\n"
            "m.logger.close()\n"
            "import importlib.metadata as md\n"
            "print('version', fitwatch.__version__, md.version('fitwatch'))\n")
    r = sh(py, "-c", code, cwd=str(tmp_path), env=env)
    assert len(emf_lines(r.stdout)) == 3
    assert validate(cli, r.stdout)[0] == 0
    # One version: CMake's project(VERSION) is the package's and the library's.
    cmake_version = re.search(r"project\(fitwatch VERSION ([0-9.]+)",
                              (REPO / "CMakeLists.txt").read_text()).group(1)
    assert ("version %s %s" % (cmake_version, cmake_version)) in r.stdout
    # The library needs only the C runtime: libstdc++ and libgcc are linked in
    # (docs/python.md).
    (so,) = (venv / "lib").glob("python3*/site-packages/fitwatch/_libfitwatch.so")
    needed = sh("ldd", str(so)).stdout
    libs = sorted(l.split()[0] for l in needed.splitlines() if "=>" in l)
    assert all(l.split(".so")[0] in ("libm", "libc", "libpthread", "libdl", "librt")
               for l in libs), libs


def test_the_sdist_carries_the_library_sources_and_nlohmann_json(tmp_path):
    """What a SageMaker image builds from (source_dir + requirements.txt)."""
    env = clean_env()
    sh(PYTHON, "setup.py", "-q", "sdist", "-d", str(tmp_path), cwd=str(REPO), env=env)
    (archive,) = tmp_path.glob("fitwatch-*.tar.gz")
    with tarfile.open(archive) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for f in ("setup.py", "pyproject.toml", "CMakeLists.txt", "cmake/warnings.cmake",
              "python/CMakeLists.txt", "python/fitwatch.map", "src/c_api.cpp",
              "include/fitwatch/fitwatch.h", "python/fitwatch/__init__.py",
              "python/fitwatch/_abi.py", "python/fitwatch/_core.py",
              "python/fitwatch/py.typed", "src/detector.cpp",
              "include/fitwatch/monitor.hpp", "python/third_party/nlohmann/json.hpp",
              "docs/python.md", "README.md"):
        assert f in names, f
    # It builds: CMake finds nlohmann/json in the sdist's copy
    # (FITWATCH_NLOHMANN_INCLUDE_DIR), as in an image without nlohmann-json3-dev.
    venv = tmp_path / "venv"
    sh(PYTHON, "-m", "venv", "--system-site-packages", str(venv), env=env)
    py = str(venv / "bin" / "python")
    r = sh(py, "-m", "pip", "install", "-v", "--no-build-isolation", str(archive), env=env)
    assert "FITWATCH_NLOHMANN_INCLUDE_DIR" in r.stdout + r.stderr
    r = sh(py, "-c", "import fitwatch; print(fitwatch.schema()['Namespace'])", cwd=str(tmp_path),
           env=env)
    assert r.stdout.strip() == "FitWatch"


def test_setup_py_reads_the_cmake_version_and_creates_no_folder(tmp_path):
    """Issue 26: one version (CMakeLists.txt); setup.py makes no folder when it runs."""
    for f in ("setup.py", "CMakeLists.txt", "docs/python.md"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / f, tmp_path / f)
    before = set(os.listdir(tmp_path))
    r = sh(PYTHON, "setup.py", "--version", cwd=str(tmp_path), env=clean_env())
    cmake_version = re.search(r"project\(fitwatch VERSION ([0-9.]+)",
                              (REPO / "CMakeLists.txt").read_text()).group(1)
    assert r.stdout.strip().splitlines()[-1] == cmake_version
    assert set(os.listdir(tmp_path)) == before


def test_without_nlohmann_json_the_build_says_what_to_install(tmp_path):
    r = subprocess.run(["cmake", "-S", str(REPO), "-B", str(tmp_path / "b"),
                        "-DFITWATCH_BUILD_TOOLS=OFF", "-DFITWATCH_WITH_TORCH=OFF",
                        "-DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "apt-get install nlohmann-json3-dev" in r.stderr
