"""Fault injection (ctest label "fault"): fitwatch watch --smtp against SMTP
servers that refuse, stall (accept and never answer) or drop the
connection. Every run must end within a bound, pass the whole log through,
report every one of the three emails that was not sent, and exit 3 (an
email that silently vanished at exit, with exit 0, was issue #12 M7)."""
import time
import unittest

from smtp_fake import FakeSMTP
from test_watch_smtp import RECIPIENTS, log_lines, watch


class SmtpServerFaults(unittest.TestCase):
    def check(self, mode, bound_s):
        with FakeSMTP(mode) as server:
            start = time.monotonic()
            r = watch(server.url(), RECIPIENTS, "--smtp-insecure", "--smtp-timeout", "2s")
            elapsed = time.monotonic() - start
        self.assertLess(elapsed, bound_s, r.stderr)
        self.assertEqual(r.stdout, log_lines())
        self.assertEqual(r.returncode, 3, r.stderr)
        for to in RECIPIENTS:
            self.assertIn("to %s via smtp://127.0.0.1:%d" % (to, server.port), r.stderr)
        self.assertIn("3 of 3 emails not written or not sent", r.stderr)
        self.assertEqual(server.messages, [])
        return r

    def test_a_server_that_refuses(self):
        self.check("refuse", 30)

    def test_a_server_that_drops_the_connection(self):
        self.check("drop", 30)

    def test_a_server_that_stalls_is_given_up_on_and_every_email_reported(self):
        r = self.check("stall", 20)
        self.assertIn("still queued after waiting 2 s at the end of the run", r.stderr)


if __name__ == "__main__":
    unittest.main()
