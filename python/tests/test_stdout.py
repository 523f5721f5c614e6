"""EMF lines and the script's own print() output share stdout: every line
must come out whole, whatever Python's buffering (docs/python.md)."""
import json

import pytest

from conftest import child_env, run_python

# Many EMF lines from the writer thread while the main thread prints lines of
# every length, so that a line written in pieces would be cut by an EMF line.
CHILD = r"""
import sys, fitwatch
log = fitwatch.Logger(job_name="mix", line_buffer_stdout=sys.argv[1] == "1")
mon = fitwatch.Monitor(log)
for e in range(1, 3001):
    mon.observe(e, 1.0, 1.0)
    print("epoch", e, "x" * (e % 300), "done")
log.close()
# The writer's queue never blocks the loop: on a loaded machine it may drop
# whole evaluations, and counts them (docs/library.md).
print("dropped", log.dropped_evaluations, file=sys.stderr)
"""


def broken_lines(stdout):
    bad = 0
    for line in stdout.splitlines():
        if line.startswith("epoch "):
            bad += not line.endswith(" done")
            continue
        try:
            json.loads(line)["_aws"]
        except (ValueError, KeyError, TypeError):
            bad += 1
    return bad


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_print_and_emf_lines_never_cut_each_other(unbuffered):
    env = child_env()
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    r = run_python(CHILD, "1", env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sum(l.startswith("epoch ") for l in lines) == 3000
    dropped = int(r.stderr.split("dropped ")[-1].split()[0])
    assert sum(l.startswith("{") for l in lines) + dropped == 3000
    assert dropped < 3000
    assert broken_lines(r.stdout) == 0


def test_sigterm_writes_the_queued_lines_then_runs_the_python_handler():
    """SageMaker's StopTrainingJob sends SIGTERM: fitwatch flushes, then the
    script's own handler (installed before the Logger) runs."""
    code = r"""
import os, signal, sys, time, fitwatch
signal.signal(signal.SIGTERM, lambda *a: (print("handled", flush=True), sys.exit(3)))
mon = fitwatch.Monitor(job_name="term")
for e in range(1, 6):
    mon.observe(e, 1.0 / e, 1.0 / e)
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(10)
"""
    r = run_python(code)
    assert r.returncode == 3, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "handled"
    assert [json.loads(l)["Epoch"] for l in lines[:-1]] == [1, 2, 3, 4, 5]
