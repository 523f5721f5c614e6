"""replay --outbox (issue #12, low): an outbox that is a regular file is an
error; a file name too long for the file system is reported and gives exit
code 3 (it used to be reported as written); a symlink planted in the outbox
is replaced, never followed: its target is not overwritten."""
import os
import subprocess
import tempfile
import unittest

from test_watch_smtp import CLI, TEMPLATE, log_lines


def replay(outbox, address):
    return subprocess.run(
        [CLI, "replay", "--tail", "0", "--template", TEMPLATE, "--param", "TrainingJobName=job-1",
         "--param", "TeamEmails=" + address, "--outbox", outbox],
        input=log_lines(), capture_output=True, text=True, timeout=60)


class Outbox(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.outbox = os.path.join(self.dir.name, "outbox")

    def tearDown(self):
        self.dir.cleanup()

    def test_an_outbox_that_is_a_regular_file_is_an_error(self):
        with open(self.outbox, "w") as f:
            f.write("not a directory\n")
        r = replay(self.outbox, "a@example.com")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("outbox %s is not a directory" % self.outbox, r.stderr)

    def test_a_name_too_long_is_reported_not_written(self):
        address = "a" * 237 + "@example.com"  # 249 characters
        r = replay(self.outbox, address)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot write %s/001-" % self.outbox, r.stderr)
        self.assertIn("longer than the 255 the file system allows", r.stderr)
        self.assertIn("1 of 1 emails not written or not sent", r.stderr)
        self.assertNotIn(".eml", r.stdout)  # not reported as written
        self.assertEqual(os.listdir(self.outbox), [])  # no temporary file left

    def test_a_planted_symlink_is_replaced_not_followed(self):
        os.mkdir(self.outbox)
        victim = os.path.join(self.dir.name, "victim.txt")
        with open(victim, "w") as f:
            f.write("precious\n")
        name = os.path.join(self.outbox, "001-job-1-fitwatch-overfitting-ALARM-a@example.com.eml")
        os.symlink(victim, name)
        r = replay(self.outbox, "a@example.com")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertFalse(os.path.islink(name))
        with open(name, "rb") as f:
            self.assertIn(b"Subject: fitwatch: job-1 is overfitting at epoch ", f.read())
        self.assertEqual(oct(os.stat(name).st_mode & 0o777), "0o644")


if __name__ == "__main__":
    unittest.main()
