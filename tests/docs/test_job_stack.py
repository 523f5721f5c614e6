"""scripts/job-stack.sh: a job's stack created before training, deleted after.

- With the real AWS CLI against a closed port on 127.0.0.1
  (--endpoint-url http://127.0.0.1:9): every command the script runs or
  prints is one the CLI parses (it gets as far as "Could not connect").
- With a stand-in `aws` first on PATH that records its arguments: the order
  of the steps, and the teardown when the command fails or is interrupted.
- With moto (the AWS emulator, for the python3 on PATH) on 127.0.0.1: the
  whole lifecycle, where moto implements the stack; skipped with the reason
  where it does not (moto 5 implements neither AWS::LanguageExtensions,
  whose Fn::ForEach the job template uses, nor AWS::CloudWatch::CompositeAlarm
  in CloudFormation), and the create/delete/wait sequence on a stack moto
  does implement.
AWS is never called.
"""
import json
import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "job-stack.sh")
TOPIC = "arn:aws:sns:us-east-1:123456789012:fitwatch-team"
CLOSED = "http://127.0.0.1:9"
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
           AWS_SESSION_TOKEN="testing", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
           AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
           AWS_ENDPOINT_URL=CLOSED)


def script(*args, env=None, timeout=120):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, env=env or ENV,
                          timeout=timeout)


def fake_aws(directory):
    """A stand-in `aws` that appends its arguments to directory/calls."""
    bin_dir = os.path.join(directory, "bin")
    os.makedirs(bin_dir)
    path = os.path.join(bin_dir, "aws")
    with open(path, "w") as f:
        f.write('#!/bin/sh\necho "aws $*" >> "%s/calls"\n' % directory)
    os.chmod(path, 0o755)
    return dict(ENV, PATH=bin_dir + os.pathsep + ENV["PATH"])


def calls(directory):
    with open(os.path.join(directory, "calls")) as f:
        return f.read().splitlines()


class RealCliParser(unittest.TestCase):
    def test_every_printed_command_parses(self):
        r = script("run", "fitwatch-demo-1", "--team-topic", TOPIC, "--param", "AlarmResolution=standard",
                   "--dry-run", "--", "python3", "launch.py")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        aws = [l for l in lines if l.startswith("aws ")]
        self.assertEqual([shlex.split(l)[1:3] for l in aws],
                         [["cloudformation", "deploy"], ["cloudformation", "delete-stack"],
                          ["cloudformation", "wait"]])
        self.assertIn("python3 launch.py", lines)
        self.assertIn("sleep 15m", lines)
        for cmd in aws:
            with self.subTest(cmd=cmd):
                p = subprocess.run(["bash", "-c", cmd + " --endpoint-url " + CLOSED], cwd=ROOT, env=ENV,
                                   capture_output=True, text=True, timeout=60)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn('Could not connect to the endpoint URL: "%s' % CLOSED, p.stderr,
                              p.stderr[-600:])

    def test_create_and_delete_reach_the_network(self):
        for args in (["create", "fitwatch-demo-1", "--team-topic", TOPIC],
                     ["create", "fitwatch-demo-1", "--emails", "a@example.com,b@example.org"],
                     ["delete", "fitwatch-demo-1"]):
            with self.subTest(args=args):
                r = script(*args, "--endpoint-url", CLOSED)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn('Could not connect to the endpoint URL: "%s' % CLOSED, r.stderr,
                              r.stderr[-600:])

    def test_the_check_catches_a_bad_command(self):
        p = subprocess.run(["bash", "-c", "aws cloudformation delete-stack --stack-nme x --endpoint-url "
                            + CLOSED], env=ENV, capture_output=True, text=True, timeout=60)
        self.assertNotIn("Could not connect to the endpoint URL", p.stderr)


class Steps(unittest.TestCase):
    def test_run_creates_runs_then_deletes_and_keeps_the_status(self):
        with tempfile.TemporaryDirectory() as d:
            env = fake_aws(d)
            r = script("run", "job-1", "--team-topic", TOPIC, "--keep", "0", "--",
                       "sh", "-c", 'echo training >> "%s/calls"; exit 3' % d, env=env)
            self.assertEqual(r.returncode, 3, r.stderr)
            c = calls(d)
            self.assertEqual(len(c), 4, c)
            self.assertTrue(c[0].startswith("aws cloudformation deploy "))
            self.assertIn("--stack-name fitwatch-job-1", c[0])
            self.assertIn("TrainingJobName=job-1 TeamTopicArn=" + TOPIC, c[0])
            self.assertEqual(c[1], "training")
            self.assertEqual(c[2], "aws cloudformation delete-stack --stack-name fitwatch-job-1")
            self.assertEqual(c[3], "aws cloudformation wait stack-delete-complete --stack-name fitwatch-job-1")

    def test_an_interrupted_run_still_deletes_the_stack(self):
        with tempfile.TemporaryDirectory() as d:
            env = fake_aws(d)
            p = subprocess.Popen(["bash", SCRIPT, "run", "job-2", "--emails", "a@example.com", "--keep", "0",
                                  "--", "sh", "-c", 'echo training >> "%s/calls"; sleep 30' % d],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
            deadline = time.time() + 30
            while time.time() < deadline and "training" not in (
                    calls(d) if os.path.exists(os.path.join(d, "calls")) else []):
                time.sleep(0.1)
            os.killpg(p.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
            p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130)
            c = calls(d)
            self.assertIn("aws cloudformation delete-stack --stack-name fitwatch-job-2", c)
            self.assertEqual(c[-1], "aws cloudformation wait stack-delete-complete --stack-name fitwatch-job-2")

    def test_a_failed_create_runs_no_training_and_tries_the_teardown(self):
        with tempfile.TemporaryDirectory() as d:
            env = fake_aws(d)
            with open(os.path.join(d, "bin", "aws"), "a") as f:
                f.write("exit 255\n")
            r = script("run", "job-3", "--team-topic", TOPIC, "--keep", "0", "--", "touch",
                       os.path.join(d, "trained"), env=env)
            self.assertEqual(r.returncode, 255)
            c = calls(d)
            self.assertEqual(len(c), 2, c)  # deploy; delete-stack (failed, so no wait)
            self.assertTrue(c[0].startswith("aws cloudformation deploy "))
            self.assertEqual(c[1], "aws cloudformation delete-stack --stack-name fitwatch-job-3")
            self.assertIn("fitwatch-job-3 was not deleted", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "trained")))

    def test_hostile_and_missing_arguments_are_refused_before_any_aws_call(self):
        with tempfile.TemporaryDirectory() as d:
            env = fake_aws(d)
            for args in (["create", "job;rm -rf /", "--team-topic", TOPIC],
                         ["create", "$(touch x)", "--team-topic", TOPIC],
                         ["create", "-job", "--team-topic", TOPIC],
                         ["create", "a" * 64, "--team-topic", TOPIC],
                         ["create", "job"],
                         ["create", "job", "--team-topic", TOPIC, "--emails", "a@example.com"],
                         ["create", "job", "--team-topic", TOPIC, "--stack-name", "1bad"],
                         ["create", "job", "--team-topic", TOPIC, "--param", "novalue"],
                         ["run", "job", "--team-topic", TOPIC],
                         ["run", "job", "--team-topic", TOPIC, "--keep", "1; rm x", "--", "true"],
                         ["delete", "job", "--", "true"],
                         ["destroy", "job"], []):
                with self.subTest(args=args):
                    r = script(*args, env=env)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertTrue(r.stderr.strip())
            self.assertFalse(os.path.exists(os.path.join(d, "calls")))

    def test_help(self):
        r = script("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: scripts/job-stack.sh create JOB", r.stdout)


def moto_server():
    """A moto server on a free port of 127.0.0.1, or None (with the reason)."""
    probe = subprocess.run(["python3", "-c", "import moto.server"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None, "moto is not installed for the python3 on PATH"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen(["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return (p, "http://127.0.0.1:%d" % port), None
        except OSError:
            time.sleep(0.2)
    p.kill()
    return None, "moto did not start"


MINIMAL = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"TrainingJobName": {"Type": "String"}, "TeamTopicArn": {"Type": "String"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic",
                            "Properties": {"TopicName": {"Fn::Sub": "fitwatch-${TrainingJobName}"}}}},
}


class Moto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        server, why = moto_server()
        if server is None:
            raise unittest.SkipTest(why)
        cls.process, cls.url = server
        cls.env = dict(ENV, AWS_ENDPOINT_URL=cls.url)

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        cls.process.wait(timeout=30)

    def aws(self, *args):
        return subprocess.run(["aws", "--endpoint-url", self.url, *args], capture_output=True, text=True,
                              env=self.env, timeout=120)

    def stack_status(self, stack):
        r = self.aws("cloudformation", "describe-stacks", "--stack-name", stack)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)["Stacks"][0]["StackStatus"]

    def test_create_then_delete_and_wait(self):
        with tempfile.TemporaryDirectory() as d:
            template = os.path.join(d, "minimal.json")
            with open(template, "w") as f:
                json.dump(MINIMAL, f)
            r = script("create", "job-moto", "--team-topic", TOPIC, "--template", template,
                       "--endpoint-url", self.url, env=self.env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.stack_status("fitwatch-job-moto"), "CREATE_COMPLETE")
            topics = json.loads(self.aws("sns", "list-topics").stdout)["Topics"]
            self.assertIn("arn:aws:sns:us-east-1:123456789012:fitwatch-job-moto",
                          [t["TopicArn"] for t in topics])
            r = script("delete", "job-moto", "--endpoint-url", self.url, env=self.env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(self.stack_status("fitwatch-job-moto"), (None, "DELETE_COMPLETE"))
            topics = json.loads(self.aws("sns", "list-topics").stdout)["Topics"]
            self.assertNotIn("arn:aws:sns:us-east-1:123456789012:fitwatch-job-moto",
                             [t["TopicArn"] for t in topics])

    def test_the_shipped_job_stack(self):
        r = script("create", "job-shipped", "--team-topic", TOPIC, "--endpoint-url", self.url, env=self.env)
        status = self.stack_status("fitwatch-job-shipped")
        alarms = json.loads(self.aws("cloudwatch", "describe-alarms").stdout or "{}")
        if r.returncode != 0 or status != "CREATE_COMPLETE" or not alarms.get("CompositeAlarms"):
            self.skipTest("moto does not implement templates/overfitting-alerts.yaml (AWS::LanguageExtensions "
                          "Fn::ForEach, CloudFormation's AWS::CloudWatch::CompositeAlarm): create gave %s, "
                          "stack %s" % (r.returncode, status))
        names = [a["AlarmName"] for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]]
        self.assertIn("job-shipped-fitwatch-alert", names)
        r = script("delete", "job-shipped", "--endpoint-url", self.url, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        alarms = json.loads(self.aws("cloudwatch", "describe-alarms").stdout)
        self.assertEqual(alarms["MetricAlarms"] + alarms["CompositeAlarms"], [])


if __name__ == "__main__":
    unittest.main()
