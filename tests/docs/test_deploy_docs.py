"""Every `aws` command in docs/deploy.md is one the real AWS CLI accepts.

Each command runs with the machine's AWS CLI against a closed port on
127.0.0.1 (--endpoint-url, which every CLI version honours; Debian 12's CLI
2.9 ignores AWS_ENDPOINT_URL), with dummy credentials: a command the CLI
cannot parse fails with a usage error before any connection; a good one
gets as far as "Could not connect to the endpoint URL" of that port. AWS is
never called: the test fails if a command names any other endpoint.
"""
import os
import re
import subprocess
import unittest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DOC = os.path.join(ROOT, "docs", "deploy.md")
PLACEHOLDER = "arn:aws:sns:us-east-1:123456789012:fitwatch-topic"
ENV = dict(os.environ,
           AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
           AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1", AWS_MAX_ATTEMPTS="1",
           AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_CONFIG_FILE="/dev/null",
           AWS_SHARED_CREDENTIALS_FILE="/dev/null", ACCOUNT="123456789012", REPO="fitwatch-train",
           IMAGE="123456789012.dkr.ecr.us-east-1.amazonaws.com/fitwatch-train:latest",
           BUCKET="fitwatch-123456789012-us-east-1", JOB="fitwatch-demo-1", STACK="fitwatch-fitwatch-demo-1",
           TEAM_TOPIC="arn:aws:sns:us-east-1:123456789012:fitwatch-team")

LOCAL = " --cli-connect-timeout 1 --endpoint-url http://127.0.0.1:9"


def commands():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.strip()
            inner = re.findall(r"\$\((aws [^)]*)\)", line)
            found += inner
            line = re.sub(r"\$\(aws [^)]*\)", PLACEHOLDER, line)
            if line.startswith("aws "):
                found.append(line.split(" | ")[0])
    return found


class DeployDocCommands(unittest.TestCase):
    def test_there_are_commands(self):
        self.assertGreater(len(commands()), 15)

    def test_every_command_parses_and_gets_as_far_as_the_network(self):
        for cmd in commands():
            with self.subTest(cmd=cmd):
                r = subprocess.run(["bash", "-c", cmd + LOCAL], cwd=ROOT, env=ENV,
                                   capture_output=True, text=True, timeout=60)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn('Could not connect to the endpoint URL: "http://127.0.0.1:9', r.stderr,
                              r.stderr[-600:])

    def test_the_check_catches_a_bad_command(self):
        r = subprocess.run(["bash", "-c", "aws cloudformation deploy --template-file templates/overfitting-alerts.yaml "
                            "--stack-nme x" + LOCAL], cwd=ROOT, env=ENV,
                           capture_output=True, text=True, timeout=60)
        self.assertNotIn("Could not connect to the endpoint URL", r.stderr)


if __name__ == "__main__":
    unittest.main()
