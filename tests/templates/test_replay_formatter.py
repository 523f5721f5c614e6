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

    def test_the_model_finds_the_function_behind_the_lambda_subscription(self):
        t = cfn.load(MAIN)
        sub = t["Resources"]["FormatterSubscription"]["Properties"]
        self.assertEqual(sub, {"Protocol": "lambda", "Endpoint": {"Fn::GetAtt": ["FormatterFunction", "Arn"]},
                               "TopicArn": {"Ref": "AlarmTopic"}})


if __name__ == "__main__":
    unittest.main()
