"""The email survives AWS's real timing: each EMF datapoint reaches
CloudWatch D after its timestamp (SageMaker's log shipping is not under the
user's control; AWS's page on alarms for EMF metrics asks for M out of N
alarms then). `fitwatch replay --delivery-delay D` makes every datapoint,
and the log line the formatter reads, visible only from then.

On a few runs of bench/corpus (overfitting and healthy, chosen by their
held-out test loss: corpora.label) at epoch spacings of 10 s, 2 min and 1 h,
with the shipped template's defaults, for D = 30 s, 2 min and 5 min (fixed)
and 0..5 min (drawn per line):
- every run emailed at D = 0 is emailed at D, no later than one evaluation
  (one epoch spacing or one alarm period, whichever is longer) plus D after;
- a run not emailed at D = 0 is not emailed at D (healthy runs no more often);
- the email still names the same epoch and best epoch (the formatter sees
  the line, which arrived with its datapoint); with delays drawn per line a
  later line can arrive first, and the email names that (later) epoch."""
import json
import os
import re
import subprocess
import sys
import unittest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "bench", "corpus"))
import corpora  # noqa: E402

CLI = os.environ["FITWATCH_CLI"]
TEMPLATE = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
JOB = "delay"
T0 = 1767225600000
SPACINGS = [10, 120, 3600]
DELAYS = ["30s", "2m", "5m", "0..5m"]
DELAY_MAX_S = {"30s": 30, "2m": 120, "5m": 300, "0..5m": 300}


def pick():
    """Three overfitting and three healthy runs of the fashion grid."""
    runs = [r for r in corpora.load_all() if r["corpus"] == "fashion-grid"]
    overfit = [r for r in runs if r["label"] == "overfit"][:3]
    healthy = [r for r in runs if r["label"] == "healthy"][:3]
    return overfit + healthy


def emit(run, spacing):
    rows = [json.dumps({"epoch": i + 1, "train_loss": t, "val_loss": v, "timestamp": T0 + i * spacing * 1000})
            for i, (t, v) in enumerate(zip(run["train"], run["val"]))]
    out = subprocess.run([CLI, "emit", "--job-name", JOB], input="\n".join(rows) + "\n",
                         capture_output=True, text=True, check=True)
    return out.stdout


def first_email(emf, delay=None):
    """(time_ms, subject) of the first email of the run, or None."""
    args = [CLI, "replay", "--template", TEMPLATE, "--format", "json",
            "--param", "TrainingJobName=" + JOB, "--param", "TeamEmails=team@example.com"]
    if delay:
        args += ["--delivery-delay", delay]
    out = subprocess.run(args, input=emf, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    for line in out.stdout.splitlines():
        t = json.loads(line)
        if t["new_state"] == "ALARM" and t["emails"]:
            return t["time_ms"], t["emails"][0]["subject"]
    return None


class DeliveryDelay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.runs = pick()

    def test_the_corpus_sample_has_both_kinds(self):
        kinds = [r["label"] for r in self.runs]
        self.assertEqual(kinds.count("overfit"), 3)
        self.assertEqual(kinds.count("healthy"), 3)

    def test_the_email_survives_delays_up_to_5_minutes(self):
        emailed = 0
        for run in self.runs:
            for spacing in SPACINGS:
                emf = emit(run, spacing)
                base = first_email(emf)
                emailed += base is not None
                for delay in DELAYS:
                    with self.subTest(run=run["id"], label=run["label"], spacing=spacing, delay=delay):
                        got = first_email(emf, delay)
                        if base is None:
                            self.assertIsNone(got)  # no more emails than at D = 0
                            continue
                        self.assertIsNotNone(got, "emailed at D = 0, not at D = %s" % delay)
                        late_s = (got[0] - base[0]) / 1000
                        self.assertGreaterEqual(late_s, 0)
                        self.assertLessEqual(late_s, max(spacing, 60) + DELAY_MAX_S[delay])
                        if ".." not in delay:
                            self.assertEqual(got[1], base[1])  # same job, epoch and best epoch
                        else:
                            # Drawn per line, a later line can arrive first: the
                            # email names the first crossing it can see, the same
                            # best epoch.
                            epoch = lambda s: [int(x) for x in re.findall(r"\d+", s)]
                            self.assertGreaterEqual(epoch(got[1])[0], epoch(base[1])[0])
                            self.assertEqual(epoch(got[1])[1], epoch(base[1])[1])
        self.assertGreater(emailed, 0)  # the sample has runs the template emails

    def test_a_one_out_of_one_alarm_loses_the_email(self):
        # The old default (EvaluationPeriods 1): a datapoint 2 minutes late
        # falls outside the 3 periods a 10-second alarm evaluates; this is
        # what the new defaults fix (the test shows the model can tell).
        run = [r for r in self.runs if r["label"] == "overfit"][0]
        with open(TEMPLATE, encoding="utf-8") as f:
            text = f.read().replace("EvaluationPeriods: !If [HighResolution, 36, 6]", "EvaluationPeriods: 1")
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "fitwatch-one-of-one-%d.yaml" % os.getpid())
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            emf = emit(run, 10)
            args = [CLI, "replay", "--template", path, "--format", "json",
                    "--param", "TrainingJobName=" + JOB, "--param", "TeamEmails=team@example.com"]
            at0 = subprocess.run(args, input=emf, capture_output=True, text=True, check=True).stdout
            late = subprocess.run(args + ["--delivery-delay", "2m"], input=emf, capture_output=True,
                                  text=True, check=True).stdout
        finally:
            os.remove(path)
        self.assertTrue(any(json.loads(l)["emails"] for l in at0.splitlines()))
        self.assertFalse(any(json.loads(l)["emails"] for l in late.splitlines()))


if __name__ == "__main__":
    unittest.main()
