"""The MetricDefinitions regular expressions of docs/fleet.md, which a
SageMaker hyperparameter tuning job needs to use fitwatch's validation loss
as its objective metric: read from the doc's JSON block, applied with
Python's `re` (SageMaker searches the job's stdout and takes the first
group: https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-define-metrics-variables.html)
to lines `fitwatch emit` writes (the library's own writer), and compared
with each line's parsed values."""
import json
import math
import os
import re
import subprocess
import unittest

CLI = os.environ["FITWATCH_CLI"]
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "fleet.md")
KEYS = {"validation:loss": "ValidationLoss", "train:loss": "TrainLoss",
        "best:validation_loss": "BestValidationLoss"}


def definitions():
    with open(DOC, encoding="utf-8") as f:
        blocks = re.findall(r"```json\n(.*?)```", f.read(), re.S)
    (block,) = [b for b in blocks if '"Regex"' in b]
    return json.loads(block)


def emit(rows, *flags):
    text = "".join(json.dumps(r) + "\n" for r in rows)
    return subprocess.run([CLI, "emit", "--job-name", "tune-001-abc", *flags], input=text,
                          check=True, capture_output=True, text=True).stdout.splitlines()


def search(regex, line):
    """What SageMaker takes from one line: the first group of the first match."""
    m = re.search(regex, line)
    return float(m.group(1)) if m else None


class MetricDefinitions(unittest.TestCase):
    def test_the_doc_defines_each_metric_within_sagemakers_limits(self):
        defs = definitions()
        self.assertEqual([d["Name"] for d in defs], list(KEYS))
        for d in defs:
            self.assertLessEqual(len(d["Regex"]), 500)  # MetricDefinition.Regex
            self.assertEqual(re.compile(d["Regex"]).groups, 1)

    def test_each_regex_captures_the_lines_own_value(self):
        # Tiny and huge losses (exponents), a negative one, a curve.
        rows = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 0.5 + 0.01 * math.sin(e)}
                for e in range(1, 25)]
        rows += [{"epoch": 25, "train_loss": 1.5e-7, "val_loss": 3.25e-9},
                 {"epoch": 26, "train_loss": 2.5e+12, "val_loss": -0.125},
                 {"epoch": 27, "train_loss": 0, "val_loss": 7}]
        lines = emit(rows)
        self.assertEqual(len(lines), len(rows))
        for d in definitions():
            key = KEYS[d["Name"]]
            for line in lines:
                with self.subTest(metric=d["Name"], line=line[-120:]):
                    self.assertEqual(search(d["Regex"], line), json.loads(line)[key])
        # The exponent forms really occur, so the test covers them.
        self.assertTrue(any(re.search(r'"ValidationLoss":-?[0-9.]+e', l) for l in lines))

    def test_no_value_is_matched_where_the_line_has_none(self):
        # A NaN validation loss is divergence: no ValidationLoss on that line.
        lines = emit([{"epoch": 1, "train_loss": 1, "val_loss": 1},
                      {"epoch": 2, "train_loss": 1, "val_loss": float("nan")}])
        regex = {d["Name"]: d["Regex"] for d in definitions()}["validation:loss"]
        self.assertEqual(search(regex, lines[0]), 1)
        self.assertNotIn("ValidationLoss", json.loads(lines[1]))
        self.assertIsNone(search(regex, lines[1]))
        # Neither the directive's "Name":"ValidationLoss" nor BestValidationLoss.
        self.assertIsNone(search(regex, '{"Name":"ValidationLoss","Unit":"None"} "BestValidationLoss":0.5'))


if __name__ == "__main__":
    unittest.main()
