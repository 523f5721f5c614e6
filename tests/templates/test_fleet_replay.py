"""templates/fleet-alerts.yaml through `fitwatch replay`: the per-contributor
notifications of a multi time series (Metrics Insights) alarm. CloudWatch
notifies at the alarm level and at the contributor level, each contributor
going to ALARM or back to OK on its own ("Acting on alarm changes":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Acting_Alarm_Changes.html).
Logs are made by `fitwatch emit` (the library's own lines); transitions are
compared as parsed JSON (`--format json`), emails by their parsed headers."""
import email
import email.policy
import glob
import json
import math
import os
import re
import subprocess
import tempfile
import unittest

CLI = os.environ["FITWATCH_CLI"]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FLEET = os.path.join(ROOT, "templates", "fleet-alerts.yaml")
T0 = 1750000000000
HOUR = 3600 * 1000
TEAM = ["alice@example.com", "bob@example.org"]
OVERFITTING = "fitwatch-fleet-overfitting-fitwatch-replay"
DIVERGENCE = "fitwatch-fleet-divergence-fitwatch-replay"


def curve(start_ms, epochs=30, spacing_ms=30000, turn=10, nan_at=None):
    """JSON lines for emit: a run that overfits after `turn` (or whose
    validation loss is NaN from epoch `nan_at`, as Python's json writes it)."""
    rows = []
    for e in range(1, epochs + 1):
        train = math.exp(-e / 8) + 0.05
        val = 0.6 * math.exp(-e / 6) + 0.3 + (0.012 * (e - turn) if e > turn else 0) \
            + 0.01 * math.sin(e * 1.7)
        if nan_at is not None and e >= nan_at:
            val = float("nan")
        rows.append(json.dumps({"epoch": e, "train_loss": train, "val_loss": val,
                                "timestamp": start_ms + e * spacing_ms}))
    return "\n".join(rows) + "\n"


def emit(job, text):
    return subprocess.run([CLI, "emit", "--job-name", job], input=text, check=True,
                          capture_output=True, text=True).stdout


def replay(log, *params):
    """(transitions as parsed JSON, emails as (file name, parsed message))."""
    with tempfile.TemporaryDirectory() as d:
        path, outbox = os.path.join(d, "fleet.log"), os.path.join(d, "outbox")
        with open(path, "w") as f:
            f.write(log)
        args = [CLI, "replay", "--template", FLEET, "--format", "json", "--outbox", outbox,
                "--param", "TeamEmails=" + ",".join(TEAM)]
        for p in params:
            args += ["--param", p]
        r = subprocess.run(args + [path], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        transitions = [json.loads(line) for line in r.stdout.splitlines()]
        emails = []
        for eml in sorted(glob.glob(os.path.join(outbox, "*.eml"))):
            with open(eml, "rb") as f:
                emails.append((os.path.basename(eml),
                               email.message_from_binary_file(f, policy=email.policy.default)))
        return transitions, emails


def subject(message):
    """(alarm name, job) of the formatter's email subject, checking its form:
    fitwatch: <job, shortened in the middle to fit> is overfitting|diverged [at epoch N (best M)]"""
    m = re.fullmatch(r"fitwatch: (.+) (is overfitting|diverged)(?: at epoch \d+(?: \(best \d+\))?)?",
                     message["Subject"])
    if not m:
        raise AssertionError("not the formatter's subject: " + message["Subject"])
    if len(message["Subject"]) >= 100:  # SNS subjects stay under 100 characters
        raise AssertionError("too long: " + message["Subject"])
    return (OVERFITTING if m.group(2) == "is overfitting" else DIVERGENCE), m.group(1)


def formatted(emails):
    return [m for _, m in emails if m["Subject"].startswith("fitwatch: ")]


def contributor_of(t):
    attributes = t["sns_message"].get("AlarmContributorAttributes")
    return attributes["TrainingJobName"] if attributes else None


class TwoJobsFourHoursApart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        log = emit("job-a", curve(T0)) + emit("job-b", curve(T0 + 4 * HOUR))
        cls.transitions, cls.emails = replay(log)
        cls.overfitting = [t for t in cls.transitions if t["alarm"] == OVERFITTING]

    def test_each_job_that_overfits_gets_its_own_email_naming_it(self):
        alarms = [t for t in self.overfitting if t["new_state"] == "ALARM" and contributor_of(t)]
        self.assertEqual([contributor_of(t) for t in alarms], ["job-a", "job-b"])
        for t, job in zip(alarms, ["job-a", "job-b"]):
            self.assertEqual(sorted(e["to"] for e in t["emails"]), sorted(TEAM))
            self.assertEqual(t["sns_message"]["AlarmContributorAttributes"], {"TrainingJobName": job})
            self.assertEqual(len(t["sns_message"]["AlarmContributorId"]), 16)
            self.assertEqual(t["sns_message"]["NewStateValue"], "ALARM")
            self.assertEqual(t["sns_message"]["OldStateValue"], "OK")
            self.assertTrue(t["reason"].startswith("Threshold Crossed: 1 datapoint was greater than or "
                                                   "equal to the threshold (1.0). The most recent "
                                                   "datapoint which crossed the threshold: [1.0 ("),
                            t["reason"])
        # The emails: per member exactly one per job (the alarm-level
        # notifications are dropped by the formatter), its subject and body naming it.
        self.assertEqual(len(self.emails), 2 * len(TEAM))
        for member in TEAM:
            mine = [m for m in formatted(self.emails) if m["To"] == member]
            self.assertEqual(len(mine), 2)
            for m, job in zip(mine, ("job-a", "job-b")):
                self.assertEqual(subject(m), (OVERFITTING, job))
                body = m.get_content()
                self.assertIn("Training job %s is overfitting at epoch" % job, body)
                self.assertIn("#dashboards/dashboard/fitwatch-fleet-fitwatch-replay\n", body)
        # The second job's email comes 4 hours after the first (the jobs' own time).
        self.assertGreaterEqual(alarms[1]["time_ms"] - alarms[0]["time_ms"], 4 * HOUR - 60000)

    def test_job_a_and_the_alarm_return_to_ok_before_job_b(self):
        a_alarm, b_alarm = [t["time_ms"] for t in self.overfitting
                            if t["new_state"] == "ALARM" and contributor_of(t)]
        between = [(contributor_of(t), t["old_state"], t["new_state"]) for t in self.overfitting
                   if a_alarm < t["time_ms"] < b_alarm]
        self.assertEqual(between, [("job-a", "ALARM", "OK"), (None, "ALARM", "OK")])
        # A contributor is only ever ALARM or OK.
        for t in self.transitions:
            if contributor_of(t):
                self.assertIn(t["new_state"], ("ALARM", "OK"))
                self.assertIn(t["old_state"], ("ALARM", "OK"))
        # ...and after job B ends, the alarm is OK again: nothing overfits.
        self.assertEqual(self.overfitting[-1]["new_state"], "OK")
        self.assertIsNone(contributor_of(self.overfitting[-1]))

    def test_alarm_level_changes_notify_the_formatter_which_drops_them(self):
        level = [(t["old_state"], t["new_state"]) for t in self.overfitting if not contributor_of(t)]
        self.assertEqual(level, [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK"),
                                 ("OK", "ALARM"), ("ALARM", "OK")])
        up = [t for t in self.overfitting if not contributor_of(t) and t["new_state"] == "ALARM"]
        self.assertEqual([t["reason"] for t in up], ["1 out of 1 time series evaluated to ALARM"] * 2)
        self.assertEqual([len(t["emails"]) for t in up], [0] * 2)  # duplicates of the contributors'

        self.assertNotIn("AlarmContributorAttributes", up[0]["sns_message"])
        # No OKActions by default: returning to OK sends nothing.
        self.assertEqual([t["emails"] for t in self.overfitting if t["new_state"] == "OK"],
                         [[]] * 5)

    def test_healthy_fleet_never_diverges(self):
        self.assertEqual([t["new_state"] for t in self.transitions if t["alarm"] == DIVERGENCE],
                         ["OK"])


class DivergenceInTheFleet(unittest.TestCase):
    def test_the_job_whose_loss_is_nan_is_emailed_by_name(self):
        log = emit("job-ok", curve(T0, turn=100)) + emit("job-nan", curve(T0, turn=100, nan_at=8))
        transitions, emails = replay(log)
        diverged = [t for t in transitions if t["alarm"] == DIVERGENCE and contributor_of(t)]
        self.assertEqual([(contributor_of(t), t["new_state"]) for t in diverged],
                         [("job-nan", "ALARM"), ("job-nan", "OK")])  # OK: its series ended
        self.assertEqual(diverged[0]["sns_message"]["Trigger"]["Metrics"][0]["Expression"],
                         'SELECT MAX(TrainingDiverged) FROM SCHEMA("FitWatch", TrainingJobName) '
                         'GROUP BY TrainingJobName ORDER BY MAX() DESC')
        subjects = [subject(m) for m in formatted(emails)]
        self.assertEqual(subjects, [(DIVERGENCE, "job-nan")] * len(TEAM))
        # Neither job overfits (turn=100): no overfitting contributor.
        self.assertEqual([t for t in transitions if t["alarm"] == OVERFITTING and contributor_of(t)], [])


class HostileJobNames(unittest.TestCase):
    def test_a_job_name_with_cr_lf_is_refused_before_it_can_reach_a_header(self):
        # The contributor's name comes from the log and goes into the Subject.
        # CloudWatch takes no dimension value with a control character
        # (API_Dimension), so such lines are invalid EMF: reported with
        # their line numbers, no email written, nothing raw printed.
        evil = "evil\r\nBcc: m@evil.example"
        log = emit("job-a", curve(T0))
        lines = [json.loads(l) for l in log.splitlines()]
        for d in lines:
            d["TrainingJobName"] = evil
        with tempfile.TemporaryDirectory() as d:
            path, outbox = os.path.join(d, "fleet.log"), os.path.join(d, "outbox")
            with open(path, "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in lines))
            r = subprocess.run([CLI, "replay", "--template", FLEET, "--outbox", outbox, "--param",
                                "TeamEmails=" + ",".join(TEAM), path],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 4, r.stderr)
            self.assertIn(path + ":1: invalid EMF, skipped: dimension \"TrainingJobName\" value "
                          "contains an ASCII control character", r.stderr)
            self.assertNotIn("Bcc", r.stdout + r.stderr)
            self.assertEqual(os.listdir(outbox), [])


    def test_the_longest_job_name_keeps_the_subject_under_100_characters(self):
        job = "j" * 63  # SageMaker's longest training job name
        _, emails = replay(emit(job, curve(T0)))
        subjects = [m["Subject"] for m in formatted(emails)]
        self.assertEqual(len(subjects), len(TEAM))
        for s in subjects:
            self.assertLess(len(s), 100)
            # Shortened in the middle, keeping the name's end and the epochs.
            self.assertRegex(s, r"^fitwatch: j+\.\.\.j{20,} is overfitting at epoch \d+ \(best \d+\)$")

    def test_tuning_jobs_names_that_differ_at_the_end_keep_distinct_subjects(self):
        # A tuning job's training jobs are named <tuning job>-NNN-<8 hex>:
        # a subject shortened at the end would name them all the same.
        jobs = ["resnet50-lr-sweep-250615-001-a1b2c3d4", "resnet50-lr-sweep-250615-002-e5f6a7b8"]
        _, emails = replay(emit(jobs[0], curve(T0)) + emit(jobs[1], curve(T0)))
        subjects = {m["Subject"] for m in formatted(emails)}
        self.assertEqual(len(subjects), 2, subjects)
        for job in jobs:
            self.assertEqual(len([s for s in subjects if job + " is overfitting" in s]), 1, subjects)


class TeamTopic(unittest.TestCase):
    def test_a_team_topic_is_notified_and_no_topic_is_created(self):
        topic = "arn:aws:sns:us-east-1:123456789012:fitwatch-team"
        log = emit("job-a", curve(T0))
        r = subprocess.run([CLI, "replay", "--template", FLEET, "--format", "json",
                            "--param", "TeamTopicArn=" + topic],
                           input=log, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        alarms = [json.loads(l) for l in r.stdout.splitlines()]
        up = [t for t in alarms if t["new_state"] == "ALARM"]
        self.assertEqual(len(up), 2)  # the contributor and the alarm
        for t in up:
            self.assertEqual(t["sns_message"]["AlarmActions"], [topic + "-alarms"])
            self.assertEqual(t["emails"], [])  # the team stack's subscriptions send them

    def test_team_emails_are_required_without_a_team_topic(self):
        r = subprocess.run([CLI, "replay", "--template", FLEET], input="",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("TeamEmails must list at least one address", r.stderr)

    def test_key_options_are_refused_with_a_team_topic(self):
        r = subprocess.run([CLI, "replay", "--template", FLEET, "--param",
                            "TeamTopicArn=arn:aws:sns:us-east-1:123456789012:t",
                            "--param", "CreateTopicKey=true"], input="",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("CreateTopicKey and KmsKeyArn apply to this stack's own topic", r.stderr)


if __name__ == "__main__":
    unittest.main()
