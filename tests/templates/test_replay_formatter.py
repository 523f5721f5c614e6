"""`fitwatch replay` runs the formatter function of the template, its own
inline code, with the log's lines standing in for CloudWatch Logs
(docs/replay.md): the email it renders is what the function publishes. A
function that cannot run is reported and counted (exit 3), never silent."""
import email
import email.policy
import glob
import json
import os
import subprocess
import tempfile
import unittest

import cfn

CLI = os.environ["FITWATCH_CLI"]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAIN = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
T0 = 1750000000000


def log(job="job-1", epochs=20, turn=15):
    rows = []
    for e in range(1, epochs + 1):
        val = 1.0 / e if e < turn - 4 else 0.2 + 0.02 * (e - turn + 4)
        rows.append(json.dumps({"epoch": e, "train_loss": 1.0 / e, "val_loss": val, "timestamp": T0 + e * 30000}))
    return subprocess.run([CLI, "emit", "--job-name", job], input="\n".join(rows) + "\n",
                          capture_output=True, text=True, check=True).stdout


def replay(text, *args, template=MAIN, env=None):
    with tempfile.TemporaryDirectory() as d:
        outbox = os.path.join(d, "outbox")
        r = subprocess.run([CLI, "replay", "--template", template, "--format", "json", "--outbox", outbox,
                            "--param", "TrainingJobName=job-1", "--param", "TeamEmails=a@example.com", *args],
                           input=text, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, **(env or {})))
        mails = []
        for path in sorted(glob.glob(os.path.join(outbox, "*.eml"))):
            with open(path, "rb") as f:
                mails.append(email.message_from_binary_file(f, policy=email.policy.default))
        return r, mails


class ReplayRunsTheFormatter(unittest.TestCase):
    def test_the_email_is_what_the_function_publishes(self):
        text = log()
        r, mails = replay(text)
        self.assertEqual(r.returncode, 0, r.stderr)
        [m] = mails
        lines = [json.loads(l) for l in text.splitlines()]
        first = next(l for l in lines if l["OverfittingDetected"] == 1)
        self.assertEqual(m["Subject"], "fitwatch: job-1 is overfitting at epoch %d (best %d)"
                         % (first["Epoch"], first["BestEpoch"]))
        self.assertEqual(m["From"], "fitwatch <no-reply@sns.amazonaws.com>")
        body = m.get_content()
        self.assertIn("Why (fitwatch's detector): " + first["OverfittingReason"], body)
        self.assertIn("\n--\nIf you wish to stop receiving notifications from this topic", body)
        # Nothing after the verdict's line was visible to the function.
        table = body.split("Last evaluations:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        self.assertEqual(int(table[-1].split()[0]), first["Epoch"])

    def test_a_changed_function_changes_the_email(self):
        # One code path: the template's code is what runs, not a copy.
        with open(MAIN, encoding="utf-8") as f:
            text = f.read().replace('"fitwatch: " + job + tail', '"CHANGED: " + job + tail')
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            r, mails = replay(log(), template=f.name)
        finally:
            os.remove(f.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(mails[0]["Subject"].startswith("CHANGED: job-1 is overfitting"), mails[0]["Subject"])

    def test_without_python3_the_lost_email_is_reported_exit_3(self):
        r, mails = replay(log(), env={"FITWATCH_PYTHON": "/nonexistent/python3"})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot run /nonexistent/python3 (needed to run the function FormatterFunction)", r.stderr)
        self.assertIn("1 of 1 emails not written or not sent", r.stderr)
        self.assertEqual(mails, [])

    def test_a_function_that_raises_is_reported_exit_3(self):
        with open(MAIN, encoding="utf-8") as f:
            # In the inline code: the handler's body is indented 14 spaces.
            line = 'topic = os.environ["TEAM_TOPIC_ARN"]\n'
            text = f.read().replace(line, line + " " * 14 + 'raise RuntimeError("boom")\n', 1)
        self.assertIn("boom", text)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            r, mails = replay(log(), template=f.name)
        finally:
            os.remove(f.name)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("the function FormatterFunction failed: RuntimeError: boom", r.stderr)

    def test_an_extra_rule_firing_first_does_not_swallow_the_verdicts_email(self):
        # Issue #23: with GapRatioThreshold=0.1 the gap alarm held the
        # composite in ALARM from early epochs, and the verdict emailed nobody.
        text = log()
        r, mails = replay(text, "--param", "GapRatioThreshold=0.1")
        self.assertEqual(r.returncode, 0, r.stderr)
        transitions = [json.loads(l) for l in r.stdout.splitlines()]
        gap = [t for t in transitions if t["alarm"] == "job-1-fitwatch-generalization-gap"
               and t["new_state"] == "ALARM"]
        verdict = [t for t in transitions if t["alarm"] == "job-1-fitwatch-overfitting"
                   and t["new_state"] == "ALARM"]
        self.assertTrue(gap and verdict)
        self.assertLess(gap[0]["time_ms"], verdict[0]["time_ms"])  # the extra rule fired first
        composite = [t for t in transitions if t["alarm"] == "job-1-fitwatch-alert"]
        self.assertEqual([t["new_state"] for t in composite if t["time_ms"] >= gap[0]["time_ms"]][:1], ["ALARM"])
        self.assertFalse(any(t["new_state"] != "ALARM" and t["time_ms"] <= verdict[0]["time_ms"]
                             and t["time_ms"] > gap[0]["time_ms"] for t in composite))  # held in ALARM
        subjects = [m["Subject"] for m in mails]
        self.assertTrue(any(s.startswith("fitwatch: job-1 has a large generalization gap") for s in subjects), subjects)
        self.assertTrue(any(s.startswith("fitwatch: job-1 is overfitting at epoch") for s in subjects), subjects)
        self.assertEqual(len(verdict[0]["emails"]), 1)

    def test_the_model_finds_the_function_behind_the_lambda_subscription(self):
        t = cfn.load(MAIN)
        sub = t["Resources"]["FormatterSubscription"]["Properties"]
        self.assertEqual(sub, {"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["FormatterFunction", "Arn"]},
                               "TopicArn": {"Ref": "AlarmTopic"}})


class CloudWatchsOwnEmail(unittest.TestCase):
    """Fidelity of the emails CloudWatch itself sends (docs/replay.md)."""

    def test_opening_lines_dates_regions_and_trigger_fields(self):
        template = {"Resources": {
            "T": {"Type": "AWS::SNS::Topic"},
            "S": {"Type": "AWS::SNS::Subscription",
                  "Properties": {"Protocol": "email", "Endpoint": "a@example.com", "TopicArn": {"Ref": "T"}}},
            "A": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "AlarmName": "a", "Namespace": "FitWatch", "MetricName": "OverfittingDetected",
                "Dimensions": [{"Name": "TrainingJobName", "Value": "job-1"}], "Statistic": "SampleCount",
                "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": [{"Ref": "T"}]}},
            "C": {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {
                "AlarmName": "c", "AlarmRule": 'ALARM("a")', "AlarmActions": [{"Ref": "T"}],
                "OKActions": [{"Ref": "T"}]}}}}
        # 2025-12-01 (a Monday) 10:00 UTC: a one-digit day.
        line = json.dumps({"_aws": {"Timestamp": 1764583200000, "CloudWatchMetrics": [{
            "Namespace": "FitWatch", "Dimensions": [["TrainingJobName"]],
            "Metrics": [{"Name": "OverfittingDetected"}]}]}, "TrainingJobName": "job-1",
            "OverfittingDetected": 1}) + "\n"
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.json")
            with open(path, "w") as f:
                json.dump(template, f)
            outbox = os.path.join(d, "o")
            r = subprocess.run([CLI, "replay", "--template", path, "--region", "ap-southeast-3", "--format", "json",
                                "--outbox", outbox], input=line, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            transitions = [json.loads(l) for l in r.stdout.splitlines()]
            mails = {}
            for p in sorted(glob.glob(os.path.join(outbox, "*.eml"))):
                with open(p, "rb") as f:
                    mails[os.path.basename(p)] = email.message_from_binary_file(f, policy=email.policy.default)
        # The composite evaluates at creation: OK, with its OK action.
        self.assertEqual((transitions[0]["alarm"], transitions[0]["old_state"], transitions[0]["new_state"]),
                         ("c", "INSUFFICIENT_DATA", "OK"))
        self.assertEqual(len(transitions[0]["emails"]), 1)
        composite = [m for n, m in mails.items() if "-c-ALARM-" in n][0]
        self.assertEqual(composite["Subject"], 'ALARM: "c" in Asia Pacific (Jakarta)')
        self.assertRegex(composite.get_content(),
                         r'region has transitioned to ALARM state on Monday 01 December, 2025 10:01:00 UTC, '
                         r'because "')
        metric = [m for n, m in mails.items() if "-a-ALARM-" in n][0]
        self.assertIn('at "Monday 01 December, 2025 10:01:00 UTC"', metric.get_content())
        trigger = [t for t in transitions if t["alarm"] == "a"][0]["sns_message"]
        self.assertEqual(trigger["Region"], "Asia Pacific (Jakarta)")
        self.assertEqual(trigger["AlarmConfigurationUpdatedTimestamp"], "2025-12-01T10:00:00.000+0000")
        self.assertEqual({k: trigger["Trigger"][k] for k in ("StatisticType", "Statistic",
                                                             "EvaluateLowSampleCountPercentile")},
                         {"StatisticType": "Statistic", "Statistic": "SAMPLE_COUNT",
                          "EvaluateLowSampleCountPercentile": ""})


if __name__ == "__main__":
    unittest.main()
