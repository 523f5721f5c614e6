"""pytest setup: the package under test is the one CMake built
(FITWATCH_PYTHONPATH, set by ctest), else an installed one; FITWATCH_CLI
names the fitwatch command used to validate lines."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

if os.environ.get("FITWATCH_PYTHONPATH"):
    sys.path.insert(0, os.environ["FITWATCH_PYTHONPATH"])

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def cli():
    path = os.environ.get("FITWATCH_CLI")
    if not path:
        pytest.skip("FITWATCH_CLI is not set (ctest sets it)")
    return path


def child_env():
    """The environment for a Python child that must import the same package."""
    env = dict(os.environ)
    if os.environ.get("FITWATCH_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["FITWATCH_PYTHONPATH"]
    for k in ("TRAINING_JOB_NAME", "SM_TRAINING_ENV", "SM_CURRENT_HOST", "SM_HOSTS"):
        env.pop(k, None)
    return env


def run_python(code, *args, timeout=60, env=None):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=env or child_env())


def validate(cli_path, text):
    """Runs `fitwatch validate` on the lines; returns (exit code, stdout+stderr)."""
    r = subprocess.run([cli_path, "validate"], input=text, capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout + r.stderr


def emf_lines(text):
    """The EMF events among the lines (JSON objects with "_aws")."""
    out = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "_aws" in event:
            out.append(event)
    return out
