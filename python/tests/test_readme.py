"""The README's Python example and its replay command work in sequence, as
copied: the Python block (saved as train.py) prints valid EMF lines of the
job it names, and the replay block run on them writes the team's email.

The replay block runs unchanged with bash in a fresh directory that holds
what a checkout holds there (templates/, build/fitwatch), with the python3
under test first on PATH.
"""
import email
import email.policy
import os
import re
import subprocess
import sys

from conftest import REPO, child_env, emf_lines, run_python, validate

PYTHON = re.compile(r"<!-- readme-python:begin -->\s*```python\n(.*?)```\s*<!-- readme-python:end -->",
                    re.DOTALL)
REPLAY = re.compile(r"<!-- readme-replay:begin -->\s*```sh\n(.*?)```\s*<!-- readme-replay:end -->",
                    re.DOTALL)


def readme_block(pattern, what):
    blocks = pattern.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1, "README.md needs one %s block between its markers" % what
    return blocks[0]


def test_the_readme_python_example_prints_valid_emf(cli):
    r = run_python(readme_block(PYTHON, "```python"))
    assert r.returncode == 0, r.stderr
    code, report = validate(cli, r.stdout)
    assert code == 0, report
    events = emf_lines(r.stdout)
    assert len(events) == len(r.stdout.splitlines()) >= 3
    assert [e["Epoch"] for e in events] == list(range(1, len(events) + 1))
    assert {e["TrainingJobName"] for e in events} == {"my-job"}
    # The example stops when the detector says so: its last line is the verdict.
    assert events[-1]["OverfittingDetected"] == 1
    assert all(e["OverfittingDetected"] == 0 for e in events[:-1])


def run_readme_in_order(cli, tmp_path, python_block=None):
    """The Python block (or `python_block`) as train.py, then the replay
    block, in tmp_path."""
    code = readme_block(PYTHON, "```python") if python_block is None else python_block
    (tmp_path / "train.py").write_text(code, encoding="utf-8")
    (tmp_path / "templates").symlink_to(REPO / "templates")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "fitwatch").symlink_to(os.path.abspath(cli))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = child_env()
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    script = readme_block(REPLAY, "```sh replay")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_readme_blocks_in_order_write_the_team_s_email(cli, tmp_path):
    r = run_readme_in_order(cli, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # Quiet by default: the alarms that go to ALARM, their email, the summary.
    assert "INSUFFICIENT_DATA -> OK" not in r.stdout
    fired = re.search(r"my-job-fitwatch-alert  \S+ -> ALARM  \(epoch (\d+)\)", r.stdout)
    assert fired, r.stdout
    # At the epoch of the verdict: the last line train.py wrote.
    events = emf_lines((tmp_path / "train.log").read_text(encoding="utf-8"))
    assert int(fired.group(1)) == events[-1]["Epoch"]
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1, r.stdout
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "alice@example.com"
    # The team's email is the formatter function's (templates/functions/formatter.py).
    assert message["Subject"].startswith("fitwatch: my-job is overfitting at epoch ")
    assert "my-job" in message["Subject"]
    assert "my-job" in message.get_body(preferencelist=("plain",)).get_content()


def test_the_check_catches_a_python_block_of_another_job(cli, tmp_path):
    """The failure the README had: the Python block's job is not the replay's."""
    other = readme_block(PYTHON, "```python").replace('job_name="my-job"', 'job_name="local"')
    r = run_readme_in_order(cli, tmp_path, other)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "expects FitWatch / OverfittingDetected with {TrainingJobName=my-job}" in r.stderr
    assert not list(tmp_path.glob("outbox/*.eml"))
