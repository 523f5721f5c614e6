"""fitwatch watch --smtp: every recipient receives the email through an SMTP
server on 127.0.0.1 (tests/smtp_fake.py), and the guards of issue #12: the
password never in the URL nor in any message (M5), TLS required unless
--smtp-insecure (M5), smtp:// and smtps:// only (M5), no CR/LF in any
header or envelope value whatever the template says (M6), and a server that
is down reported with exit code 3 after the whole log passed through."""
import email
import json
import os
import re
import subprocess
import tempfile
import unittest

from smtp_fake import FakeSMTP

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CLI = os.environ["FITWATCH_CLI"]
TEMPLATE = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
RECIPIENTS = ["alice@example.com", "bob@example.org", "carol@example.net"]
SECRET = "s3cret-Pa55"


def log_lines(job="job-1"):
    t0 = 1750000000000
    lines = []
    for i in range(6):
        lines.append("epoch %d" % i)
        lines.append(json.dumps({
            "_aws": {"Timestamp": t0 + i * 30000, "CloudWatchMetrics": [{
                "Namespace": "FitWatch", "Dimensions": [["TrainingJobName"]],
                "Metrics": [{"Name": "OverfittingDetected", "Unit": "None", "StorageResolution": 1}]}]},
            "TrainingJobName": job, "OverfittingDetected": 1 if i >= 4 else 0}))
    return "\n".join(lines) + "\n"


def watch(smtp_url, recipients, *extra, template=TEMPLATE, job="job-1", env=None):
    return subprocess.run(
        [CLI, "watch", "--tail", "0", "--template", template, "--param", "TrainingJobName=" + job,
         "--param", "TeamEmails=" + ",".join(recipients), "--smtp", smtp_url, "--from", "fitwatch@localhost",
         "--smtp-timeout", "3s"] + list(extra),
        input=log_lines(job), capture_output=True, text=True, timeout=120,
        env=dict(os.environ, **(env or {})))


class WatchSendsEmail(unittest.TestCase):
    def test_every_recipient_receives_the_alarm_email(self):
        with FakeSMTP() as server:
            r = watch(server.url(), RECIPIENTS, "--smtp-insecure")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, log_lines())  # passed through unchanged
        got = {}
        for mailfrom, rcpttos, data in server.messages:
            self.assertEqual(mailfrom, "fitwatch@localhost")
            message = email.message_from_bytes(data)
            for to in rcpttos:
                got.setdefault(to, []).append(message)
        self.assertEqual(sorted(got), sorted(RECIPIENTS))
        for to, messages in got.items():
            self.assertEqual(len(messages), 1, to)
            m = messages[0]
            self.assertEqual(m["To"], to)
            # The formatter's email (templates/functions/formatter.py); these
            # lines carry no Epoch, so the subject names none.
            self.assertEqual(m["Subject"], "fitwatch: job-1 is overfitting")
            self.assertIn("Training job job-1 is overfitting.", m.get_payload())

    def test_a_server_that_is_down_is_reported_with_exit_code_3(self):
        # (--smtp-timeout 10s: the end of the run waits for all 3 attempts)
        r = watch("smtp://127.0.0.1:9", RECIPIENTS[:1], "--smtp-insecure", "--smtp-timeout", "10s")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stdout, log_lines())  # the log still passed through
        self.assertIn('could not send "fitwatch: job-1 is overfitting" to alice@example.com',
                      r.stderr)
        self.assertIn("(3 attempts)", r.stderr)
        self.assertIn("1 of 1 emails not written or not sent", r.stderr)


class SmtpSecrets(unittest.TestCase):
    def test_password_from_a_file_logs_in_and_is_never_printed(self):
        with tempfile.TemporaryDirectory() as d, FakeSMTP("bad-login") as server:
            path = os.path.join(d, "password")
            with open(path, "w") as f:
                f.write(SECRET + "\n")
            r = watch(server.url(), RECIPIENTS[:1], "--smtp-insecure", "--smtp-user", "mailer",
                      "--smtp-password-file", path)
        self.assertIn(("mailer", SECRET), server.logins)  # the file's first line, sent
        self.assertEqual(r.returncode, 3, r.stderr)  # the server refused the login
        self.assertIn("could not send", r.stderr)
        self.assertNotIn(SECRET, r.stderr + r.stdout)

    def test_password_from_the_environment(self):
        with FakeSMTP() as server:
            r = watch(server.url(), RECIPIENTS[:1], "--smtp-insecure", "--smtp-user", "mailer",
                      env={"FITWATCH_SMTP_PASSWORD": SECRET})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(server.logins, [("mailer", SECRET)])
        self.assertEqual(len(server.messages), 1)

    def test_a_password_in_the_url_is_refused_and_never_printed(self):
        with FakeSMTP() as server:
            r = watch("smtp://mailer:%s@127.0.0.1:%d" % (SECRET, server.port), RECIPIENTS[:1])
        self.assertEqual(r.returncode, 2)
        self.assertIn("no user or password in the URL", r.stderr)
        self.assertIn("smtp://***@127.0.0.1", r.stderr)
        self.assertNotIn(SECRET, r.stderr + r.stdout)
        self.assertEqual(server.connections, 0)

    def test_a_user_without_a_password_is_refused(self):
        r = watch("smtp://127.0.0.1:9", RECIPIENTS[:1], "--smtp-user", "mailer",
                  env={"FITWATCH_SMTP_PASSWORD": ""})
        self.assertEqual(r.returncode, 2)
        self.assertIn("--smtp-user needs a password", r.stderr)


class SmtpTls(unittest.TestCase):
    def test_tls_is_required_nothing_is_sent_in_clear_text(self):
        # The fake offers no STARTTLS: without --smtp-insecure the client must
        # stop after EHLO, before any login, sender, recipient or message.
        with FakeSMTP() as server:
            r = watch(server.url(), RECIPIENTS[:1], "--smtp-user", "mailer",
                      env={"FITWATCH_SMTP_PASSWORD": SECRET})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertGreater(server.connections, 0)
        verbs = {c.split(" ")[0].upper() for c in server.commands}
        self.assertEqual(verbs & {"AUTH", "MAIL", "RCPT", "DATA"}, set(), server.commands)
        self.assertEqual(server.logins, [])
        self.assertIn("could not send", r.stderr)
        self.assertNotIn(SECRET, r.stderr)

    def test_only_smtp_and_smtps_urls(self):
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "mail.txt")
            for url in ["file://" + target, "http://127.0.0.1:9/", "127.0.0.1:25", "SMTPX://h"]:
                r = watch(url, RECIPIENTS[:1])
                self.assertEqual(r.returncode, 2, url)
                self.assertIn("only smtp:// and smtps:// URLs are accepted", r.stderr, url)
            self.assertFalse(os.path.exists(target))


class HeaderInjection(unittest.TestCase):
    """A template whose parameters have no AllowedPattern: CR/LF must still
    never reach a header or an SMTP command."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        with open(TEMPLATE) as f:
            text = re.sub(r"\n *(AllowedPattern|ConstraintDescription):.*", "", f.read())
        self.loose = os.path.join(self.dir.name, "loose.yaml")
        with open(self.loose, "w") as f:
            f.write(text)

    def tearDown(self):
        self.dir.cleanup()

    def test_crlf_in_an_address_is_refused_before_anything_is_sent(self):
        with FakeSMTP() as server:
            r = watch(server.url(), ["alice@example.com\r\nBcc: mallory@evil.example"], "--smtp-insecure",
                      template=self.loose)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("contains a control character", r.stderr)
        self.assertEqual(server.connections, 0)
        self.assertNotIn("mallory", r.stderr)

    def test_crlf_in_the_job_name_is_refused(self):
        with FakeSMTP() as server:
            r = watch(server.url(), RECIPIENTS[:1], "--smtp-insecure", template=self.loose,
                      job="job-1\r\nBcc: mallory@evil.example")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("the alarm name contains a control character", r.stderr)
        self.assertEqual(server.messages, [])

    def test_crlf_in_from_is_refused(self):
        with FakeSMTP() as server:
            r = watch(server.url(), RECIPIENTS[:1], "--smtp-insecure",
                      "--from", "a@example.com>\r\nRCPT TO:<mallory@evil.example")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--from: not a plain email address", r.stderr)
        self.assertEqual(server.connections, 0)

    def test_outbox_files_carry_no_injected_header(self):
        # replay --outbox goes through the same template check.
        r = subprocess.run(
            [CLI, "replay", "--tail", "0", "--template", self.loose, "--param", "TrainingJobName=job-1",
             "--param", "TeamEmails=a@example.com\nBcc: mallory@evil.example", "--outbox",
             os.path.join(self.dir.name, "out")],
            input=log_lines(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "out")))


if __name__ == "__main__":
    unittest.main()
