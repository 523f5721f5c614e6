"""replay's output files. --outbox (issue #12, low): an outbox that is a
regular file is an error; a file name too long for the file system is
reported and gives exit code 3 (it used to be reported as written); a
symlink planted in the outbox is replaced, never followed: its target is not
overwritten. --report (issue #25, H2 and M6): written to a new file and
renamed, so no planted name (FILE.tmp used to be opened through its symlink)
is followed; a report path that is an input log, or not a regular file, is
refused before anything is written."""
import os
import stat
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
            self.assertIn(b"Subject: fitwatch: job-1 is overfitting\r\n", f.read())
        self.assertEqual(oct(os.stat(name).st_mode & 0o777), "0o644")


def replay_report(report, *logs, stdin=None):
    return subprocess.run(
        [CLI, "replay", "--tail", "0", "--template", TEMPLATE, "--param", "TrainingJobName=job-1",
         "--param", "TeamEmails=a@example.com", "--report", report] + list(logs),
        input=log_lines() if stdin is None and not logs else None, stdin=stdin,
        capture_output=True, text=True, timeout=60)


class ReportFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.report = os.path.join(self.dir.name, "r.html")
        self.victim = os.path.join(self.dir.name, "victim.txt")
        with open(self.victim, "w") as f:
            f.write("precious\n")
        self.log = os.path.join(self.dir.name, "job.log")
        with open(self.log, "w") as f:
            f.write(log_lines())

    def tearDown(self):
        self.dir.cleanup()

    def assert_victim_intact(self):
        with open(self.victim) as f:
            self.assertEqual(f.read(), "precious\n")

    def assert_report_written(self):
        self.assertTrue(os.path.isfile(self.report) and not os.path.islink(self.report))
        with open(self.report) as f:
            self.assertIn("<html", f.read())
        leftovers = [n for n in os.listdir(self.dir.name) if n.startswith(".fitwatch")]
        self.assertEqual(leftovers, [])

    def test_a_planted_tmp_symlink_is_not_followed(self):
        os.symlink(self.victim, self.report + ".tmp")
        r = replay_report(self.report, self.log)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_victim_intact()
        self.assert_report_written()

    def test_a_symlink_at_the_report_name_is_replaced_not_followed(self):
        os.symlink(self.victim, self.report)
        r = replay_report(self.report, self.log)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_victim_intact()
        self.assert_report_written()

    def test_a_report_that_is_the_input_log_is_refused_and_the_log_kept(self):
        with open(self.log) as f:
            before = f.read()
        r = replay_report(self.log, self.log)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--report %s is the log %s" % (self.log, self.log), r.stderr)
        with open(self.log) as f:
            self.assertEqual(f.read(), before)

    def test_a_report_that_is_the_log_on_stdin_is_refused(self):
        with open(self.log) as f:
            before = f.read()
        with open(self.log) as stdin:
            r = replay_report(self.log, stdin=stdin)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("is the log on stdin", r.stderr)
        with open(self.log) as f:
            self.assertEqual(f.read(), before)

    def test_a_fifo_or_a_folder_is_refused_not_replaced(self):
        # (A device such as /dev/stdout is refused the same way; the test
        # does not use one: the old code replaced it with a regular file.)
        fifo = os.path.join(self.dir.name, "fifo")
        os.mkfifo(fifo)
        for path in (fifo, self.dir.name):
            with self.subTest(path=path):
                r = replay_report(path, self.log)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("--report %s is not a regular file" % path, r.stderr)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))


if __name__ == "__main__":
    unittest.main()
