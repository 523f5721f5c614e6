"""fitwatch watch --smtp: every recipient receives the email through a real
SMTP server on 127.0.0.1 (Python's standard-library smtpd, started here), and
a server that is down is reported, never fatal to the training run."""
import asyncore
import email
import json
import os
import subprocess
import threading
import unittest
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import smtpd

ROOT = os.path.join(os.path.dirname(__file__), "..")
CLI = os.environ["FITWATCH_CLI"]
TEMPLATE = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
RECIPIENTS = ["alice@example.com", "bob@example.org", "carol@example.net"]


class Sink(smtpd.SMTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), None, decode_data=False)
        self.messages = []

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        self.messages.append((mailfrom, rcpttos, data))


def log_lines():
    t0 = 1750000000000
    lines = []
    for i in range(6):
        lines.append("epoch %d" % i)
        lines.append(json.dumps({
            "_aws": {"Timestamp": t0 + i * 30000, "CloudWatchMetrics": [{
                "Namespace": "FitWatch", "Dimensions": [["TrainingJobName"]],
                "Metrics": [{"Name": "OverfittingDetected", "Unit": "None", "StorageResolution": 1}]}]},
            "TrainingJobName": "job-1", "OverfittingDetected": 1 if i >= 4 else 0}))
    return "\n".join(lines) + "\n"


def watch(smtp_url, recipients):
    return subprocess.run(
        [CLI, "watch", "--tail", "0", "--template", TEMPLATE, "--param", "TrainingJobName=job-1",
         "--param", "TeamEmails=" + ",".join(recipients), "--smtp", smtp_url, "--from", "fitwatch@localhost"],
        input=log_lines(), capture_output=True, text=True, timeout=120)


class WatchSendsEmail(unittest.TestCase):
    def test_every_recipient_receives_the_alarm_email(self):
        sink = Sink()
        port = sink.socket.getsockname()[1]
        stop = threading.Event()
        thread = threading.Thread(target=lambda: [asyncore.loop(timeout=0.05, count=1) for _ in iter(stop.is_set, True)])
        thread.start()
        try:
            r = watch("smtp://127.0.0.1:%d" % port, RECIPIENTS)
        finally:
            stop.set()
            thread.join()
            sink.close()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, log_lines())  # passed through unchanged
        got = {}
        for mailfrom, rcpttos, data in sink.messages:
            self.assertEqual(mailfrom, "fitwatch@localhost")
            message = email.message_from_bytes(data)
            for to in rcpttos:
                got.setdefault(to, []).append(message)
        self.assertEqual(sorted(got), sorted(RECIPIENTS))
        for to, messages in got.items():
            self.assertEqual(len(messages), 1, to)
            m = messages[0]
            self.assertEqual(m["To"], to)
            self.assertEqual(m["Subject"], 'ALARM: "job-1-fitwatch-alert" in US East (N. Virginia)')
            self.assertIn("has transitioned to ALARM state", m.get_payload())

    def test_a_server_that_is_down_is_reported_not_fatal(self):
        r = watch("smtp://127.0.0.1:9", RECIPIENTS[:1])
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, log_lines())
        self.assertIn("could not send", r.stderr)
        self.assertIn("after 3 attempts", r.stderr)


if __name__ == "__main__":
    unittest.main()
