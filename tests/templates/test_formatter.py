"""The formatter function (templates/functions/formatter.py, inlined in the
team, job and fleet templates) against moto, AWS's emulator, in-process
(`mock_aws`, no network): its calls go through real boto3 clients, so every
parameter passes botocore's validation against the real service models; the
SNS publishes are read back from an SQS queue subscribed to the team topic;
every call is recorded and compared with the IAM policy the templates give
the function (exactly those actions, on those resources).

Skipped, with the reason, where moto is not installed (a fresh Debian 12
has none)."""
import calendar
import json
import os
import subprocess
import sys
import time
import types
import unittest
from unittest import mock

try:
    import boto3
    from moto import mock_aws
except ImportError:  # pragma: no cover - depends on the machine
    mock_aws = None

import cfn

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SOURCE = os.path.join(ROOT, "templates", "functions", "formatter.py")
TEMPLATES = {name: os.path.join(ROOT, "templates", name + ".yaml")
             for name in ("team", "overfitting-alerts", "fleet-alerts")}
REGION, ACCOUNT = "us-east-1", "123456789012"
GROUP = "/aws/sagemaker/TrainingJobs"


def load_formatter():
    if "boto3" not in sys.modules:
        try:
            import boto3  # noqa: F401
        except ImportError:  # the pure parts run without it
            sys.modules["boto3"] = types.ModuleType("boto3")
    module = types.ModuleType("index")
    with open(SOURCE, encoding="utf-8") as f:
        exec(compile(f.read(), "index.py", "exec"), module.__dict__)
    return module


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".000+0000"


def lines(job, t0, epochs=20, turn=14, best=12):
    """EMF-like lines of one job: the verdict turns 1 at epoch `turn`."""
    out = []
    for e in range(1, epochs + 1):
        out.append({"TrainingJobName": job, "Epoch": e, "BestEpoch": min(e, best),
                    "TrainLoss": 1.0 / e, "ValidationLoss": 0.5 + abs(e - best) * 0.01,
                    "OverfittingDetected": 1 if e >= turn else 0,
                    "OverfittingReason": "validation loss 5% above its best" if e >= turn else "",
                    "_aws": {"Timestamp": t0 + e * 10000}})
    return out


def metric_message(job, t_ms, state="ALARM", old="OK", metric="OverfittingDetected"):
    name = "%s-fitwatch-overfitting" % job
    return {"AlarmName": name, "AlarmDescription": "Overfitting: ... TrainingJobName: " + job,
            "AWSAccountId": ACCOUNT, "NewStateValue": state, "OldStateValue": old,
            "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints ...",
            "StateChangeTime": iso(t_ms), "Region": "US East (N. Virginia)",
            "AlarmArn": "arn:aws:cloudwatch:%s:%s:alarm:%s" % (REGION, ACCOUNT, name),
            "OKActions": [], "AlarmActions": [], "InsufficientDataActions": [],
            "Trigger": {"MetricName": metric, "Namespace": "FitWatch", "StatisticType": "Statistic",
                        "Statistic": "MAXIMUM", "Unit": None,
                        "Dimensions": [{"value": job, "name": "TrainingJobName"}], "Period": 10,
                        "EvaluationPeriods": 36, "DatapointsToAlarm": 1,
                        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1.0,
                        "TreatMissingData": "ignore", "EvaluateLowSampleCountPercentile": ""}}


def fleet_message(t_ms, job=None):
    name = "fitwatch-fleet-overfitting-fleet"
    m = metric_message("x", t_ms)
    m.update(AlarmName=name, AlarmArn="arn:aws:cloudwatch:%s:%s:alarm:%s" % (REGION, ACCOUNT, name))
    m["Trigger"] = {"Metrics": [{"Id": "verdict", "ReturnData": True, "Expression":
                                 'SELECT MAX(OverfittingDetected) FROM SCHEMA("FitWatch", TrainingJobName) '
                                 'GROUP BY TrainingJobName ORDER BY MAX() DESC'}],
                    "Period": 60, "EvaluationPeriods": 60, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "Threshold": 1.0, "TreatMissingData": "ignore"}
    if job:
        m["AlarmContributorId"] = "0123456789abcdef"
        m["AlarmContributorAttributes"] = {"TrainingJobName": job}
    return m


def event(message):
    text = message if isinstance(message, str) else json.dumps(message)
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": text}}]}


def policy_actions(template):
    """{action: [resources]} of the formatter role, without its own log
    writing (the Lambda runtime's) and the KMS statement (SNS's)."""
    role = template["Resources"]["FormatterRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    out = {}
    for stmt in role["Statement"]:
        if "Fn::If" in stmt or stmt.get("Sid") == "OwnLogs":
            continue
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        for a in actions:
            out[a] = stmt["Resource"]
    return out


@unittest.skipIf(mock_aws is None, "moto is not installed for this python3 (Debian: no package; "
                                   "pip install moto): the formatter's AWS tests need it")
class FormatterAgainstMoto(unittest.TestCase):
    def setUp(self):
        env = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
        self.env = mock.patch.dict(os.environ, env)
        self.env.start()
        self.aws = mock_aws()
        self.aws.start()
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        self.topic = sns.create_topic(Name="fitwatch-team")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=arn)
        self.queue, self.sqs = queue, sqs
        self.logs = boto3.client("logs")
        self.logs.create_log_group(logGroupName=GROUP)
        os.environ["TEAM_TOPIC_ARN"] = self.topic
        self.f = load_formatter()
        self.calls = []
        real = self.f.boto3.client

        def recording_client(name, **kw):
            c = real(name, **kw)
            c.meta.events.register("before-parameter-build.*.*", lambda model, params, **_: self.calls.append(
                (c.meta.service_model.signing_name + ":" + model.name, params)))
            return c

        self.f.boto3 = types.SimpleNamespace(client=recording_client)
        self.f._clients.clear()

    def tearDown(self):
        self.aws.stop()
        self.env.stop()

    def put(self, job, rows):
        stream = "%s/algo-1-%d" % (job, rows[0]["_aws"]["Timestamp"] // 1000)
        self.logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        events = [{"timestamp": r["_aws"]["Timestamp"], "message": json.dumps(r)} for r in rows]
        self.logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)

    def received(self):
        """(subject, message) of every publish to the team topic."""
        out = []
        while True:
            r = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
            if not r.get("Messages"):
                return out
            for m in r["Messages"]:
                body = json.loads(m["Body"])
                out.append((body.get("Subject"), body["Message"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def test_the_email_names_job_epoch_best_reason_and_losses(self):
        t0 = (int(time.time()) - 3600) * 1000
        self.put("my-job", lines("my-job", t0))
        self.put("other-job", lines("other-job", t0, turn=3, best=2))
        self.f.handler(event(metric_message("my-job", t0 + 15 * 10000)), None)
        [(subject, body)] = self.received()
        self.assertEqual(subject, "fitwatch: my-job is overfitting at epoch 14 (best 12)")
        self.assertIn("Why (fitwatch's detector): validation loss 5% above its best", body)
        self.assertIn("Epoch 14: training loss 0.07143, validation loss 0.52.", body)
        self.assertIn("Best epoch 12: training loss 0.08333, validation loss 0.5.", body)
        self.assertIn("What to do: Stop the job", body)
        self.assertIn("#dashboards/dashboard/my-job-fitwatch\n", body)
        self.assertIn("#/jobs/my-job\n", body)
        table = body.split("Last evaluations:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        self.assertEqual(table[0].split(), ["Epoch", "TrainLoss", "ValidationLoss", "BestEpoch",
                                            "OverfittingDetected"])
        self.assertEqual([r.split()[0] for r in table[1:]], [str(e) for e in range(7, 15)])
        # One read and one publish, both valid for botocore's service models.
        self.assertEqual([c[0] for c in self.calls], ["logs:FilterLogEvents", "sns:Publish"])

    def test_a_failed_read_still_sends_the_alarms_own_content(self):
        t_ms = int(time.time()) * 1000
        with mock.patch.object(self.f, "read_lines", side_effect=RuntimeError("AccessDenied")):
            self.f.handler(event(metric_message("my-job", t_ms)), None)
        [(subject, body)] = self.received()
        self.assertEqual(subject, "fitwatch: my-job is overfitting")
        self.assertIn("could not be read", body)
        self.assertIn("Threshold Crossed: 1 out of the last 1 datapoints", body)
        self.assertIn("TrainingJobName: my-job", body)
        # A log group that does not exist (a ResourceNotFoundException from moto) too.
        self.logs.delete_log_group(logGroupName=GROUP)
        self.f.handler(event(metric_message("my-job", t_ms)), None)
        [(subject, _)] = self.received()
        self.assertEqual(subject, "fitwatch: my-job is overfitting")

    def test_a_message_that_is_not_an_alarm_is_forwarded_as_it_came(self):
        self.f.handler(event("hello, not JSON"), None)
        self.assertEqual(self.received(), [("fitwatch: alarm notification", "hello, not JSON")])

    def test_the_fleet_sends_one_email_per_job_not_the_alarm_level_duplicate(self):
        t0 = (int(time.time()) - 3600) * 1000
        self.put("job-b", lines("job-b", t0))
        self.f.handler(event(fleet_message(t0 + 15 * 10000)), None)  # the alarm level
        self.f.handler(event(fleet_message(t0 + 15 * 10000, job="job-b")), None)
        [(subject, body)] = self.received()
        self.assertEqual(subject, "fitwatch: job-b is overfitting at epoch 14 (best 12)")
        self.assertIn("#dashboards/dashboard/fitwatch-fleet-fleet\n", body)

    def test_leaving_insufficient_data_is_no_recovery_email(self):
        t_ms = int(time.time()) * 1000
        self.f.handler(event(metric_message("my-job", t_ms, state="OK", old="INSUFFICIENT_DATA")), None)
        self.assertEqual(self.received(), [])
        self.f.handler(event(metric_message("my-job", t_ms, state="OK", old="ALARM")), None)
        [(subject, _)] = self.received()
        self.assertEqual(subject, "fitwatch: my-job is back to OK (OverfittingDetected)")

    def test_a_failed_publish_raises_so_that_lambda_retries_and_then_forwards_the_event(self):
        os.environ["TEAM_TOPIC_ARN"] = self.topic + "-gone"
        with self.assertRaises(Exception):
            self.f.handler(event(metric_message("my-job", int(time.time()) * 1000)), None)

    def test_the_iam_policy_allows_exactly_the_calls_the_code_makes(self):
        t0 = (int(time.time()) - 3600) * 1000
        self.put("my-job", lines("my-job", t0))
        self.f.handler(event(metric_message("my-job", t0 + 15 * 10000)), None)
        self.f.handler(event(fleet_message(t0 + 15 * 10000, job="my-job")), None)
        made = {name for name, _ in self.calls}
        groups = {p.get("logGroupName") for name, p in self.calls if name == "logs:FilterLogEvents"}
        self.assertEqual(groups, {GROUP})
        for name, path in TEMPLATES.items():
            with self.subTest(template=name):
                allowed = policy_actions(cfn.load(path))
                self.assertEqual(set(allowed), made)
                self.assertEqual(allowed["logs:FilterLogEvents"], {"Fn::Sub":
                                 "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                 + GROUP + ":*"})
                topic = "TeamTopic" if name == "team" else "AlertTopic"
                self.assertEqual(allowed["sns:Publish"], {"Ref": topic})
                function = cfn.load(path)["Resources"]["FormatterFunction"]["Properties"]
                self.assertEqual(function["Environment"]["Variables"]["TEAM_TOPIC_ARN"], {"Ref": topic})


class InlineCodeMatchesTheSource(unittest.TestCase):
    def test_every_template_holds_the_source_verbatim(self):
        with open(SOURCE, encoding="utf-8") as f:
            source = f.read()
        for name, path in TEMPLATES.items():
            with self.subTest(template=name):
                code = cfn.load(path)["Resources"]["FormatterFunction"]["Properties"]["Code"]["ZipFile"]
                self.assertEqual(code, source)
        r = subprocess.run([sys.executable, os.path.join(ROOT, "templates", "functions", "inline.py"),
                            "--check"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_the_check_fails_when_a_template_drifts(self):
        sys.path.insert(0, os.path.join(ROOT, "templates", "functions"))
        import inline
        with open(TEMPLATES["team"], encoding="utf-8") as f:
            text = f.read()
        drifted = text.replace("SUBJECT_MAX = 99", "SUBJECT_MAX = 120", 1)
        self.assertNotEqual(drifted, text)
        self.assertEqual(inline.inline(drifted), text)  # --check compares with this

    def test_the_subject_stays_under_100_characters_without_control_characters(self):
        f = load_formatter()
        for job in ["j" * 63, "evil\r\nBcc: x@y", "a"]:
            s = f.subject_for(job, "is overfitting", 123456, 123455)
            self.assertLess(len(s), 100)
            self.assertNotRegex(s, r"[\x00-\x1f\x7f]")

    def test_state_change_time_is_read_as_utc(self):
        f = load_formatter()
        self.assertEqual(f._epoch_ms("2025-06-15T15:16:20.419+0000"),
                         calendar.timegm((2025, 6, 15, 15, 16, 20)) * 1000 + 419)


if __name__ == "__main__":
    unittest.main()
