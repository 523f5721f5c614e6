"""The fleet's report grows with the number of jobs, not with its square
(issue #25, M7): an alarm-level transition of the fleet's Metrics Insights
alarm lists every contributor, and each job's section used to repeat the
whole list (10,000 jobs: 2.88 GB of HTML). A job's section now names only
its own contributor and how many others there are."""
import json
import math
import os
import re
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FLEET = os.path.join(ROOT, "templates", "fleet-alerts.yaml")
CLI = os.environ["FITWATCH_CLI"]
T0 = 1750000000000


def job_log(job):
    """One job that overfits after epoch 10, evaluations 60 s apart."""
    rows = []
    for e in range(1, 31):
        train = math.exp(-e / 8) + 0.05
        val = 0.6 * math.exp(-e / 6) + 0.3 + (0.02 * (e - 10) if e > 10 else 0)
        rows.append(json.dumps({"epoch": e, "train_loss": train, "val_loss": val,
                                "timestamp": T0 + e * 60000}))
    return subprocess.run([CLI, "emit", "--job-name", job], input="\n".join(rows) + "\n",
                          check=True, capture_output=True, text=True).stdout


def contributor_mentions(jobs):
    """How often the report of `jobs` jobs overfitting together names a job."""
    with tempfile.TemporaryDirectory() as d:
        log, report = os.path.join(d, "fleet.log"), os.path.join(d, "r.html")
        with open(log, "w") as f:
            f.write("".join(job_log("job-%03d" % i) for i in range(jobs)))
        r = subprocess.run([CLI, "replay", "--template", FLEET, "--param", "TeamEmails=a@example.com",
                            "--format", "json", "--report", report, log],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        transitions = [json.loads(line) for line in r.stdout.splitlines()]
        many = [t for t in transitions if t.get("contributors", "").count(",") >= jobs // 2]
        with open(report) as f:
            html = f.read()
        return len(re.findall(r"TrainingJobName=job-\d+", html)), len(many)


class FleetReportSize(unittest.TestCase):
    def test_mentions_grow_linearly_with_the_jobs(self):
        small, _ = contributor_mentions(10)
        large, alarm_level = contributor_mentions(40)
        # The case that used to be quadratic must happen: an alarm-level
        # transition that lists most of the 40 jobs.
        self.assertGreater(alarm_level, 0)
        # 4x the jobs: linear is about 4x the mentions, quadratic 16x.
        self.assertLess(large, 6 * small, (small, large))


if __name__ == "__main__":
    unittest.main()
