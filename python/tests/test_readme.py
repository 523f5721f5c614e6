"""The README's Python example runs and prints valid EMF lines."""
import re

from conftest import REPO, emf_lines, run_python, validate

BLOCK = re.compile(r"<!-- readme-python:begin -->\s*```python\n(.*?)```\s*<!-- readme-python:end -->",
                   re.DOTALL)


def test_the_readme_python_example_prints_valid_emf(cli):
    blocks = BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1, "README.md needs one ```python block between the readme-python markers"
    r = run_python(blocks[0])
    assert r.returncode == 0, r.stderr
    code, report = validate(cli, r.stdout)
    assert code == 0, report
    events = emf_lines(r.stdout)
    assert len(events) == 3 and len(r.stdout.splitlines()) == 3
    assert [e["Epoch"] for e in events] == [1, 2, 3]
    assert events[-1]["ValidationLoss"] == 0.7 and events[-1]["TrainingJobName"] == "local"
