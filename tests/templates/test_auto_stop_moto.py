"""auto-stop (templates/auto-stop.yaml) against moto's CloudWatch, in-process
(`mock_aws`): real boto3 clients, so DescribeAlarms passes botocore's
validation against the service model, on alarms that exist in the emulator.
SageMaker is a fake that records what is stopped. Forged messages (an alarm
that does not exist, one in OK, one of another account, a job written in the
message) stop nothing; the real ALARM stops its job. moto does not implement
DescribeAlarmContributors: it is patched to answer from a list.

Skipped where moto is absent."""
import json
import os
import unittest
from unittest import mock

try:
    import boto3
    from moto import mock_aws
except ImportError:  # pragma: no cover - depends on the machine
    mock_aws = None

from test_auto_stop import ACCOUNT, REGION, FakeSageMaker, arn, load_handler, sns_event

JOBS = ["job-a", "job-b", "job-d", "job-victim"]


def metric_alarm(cw, name, job):
    cw.put_metric_alarm(AlarmName=name, Namespace="FitWatch", MetricName="OverfittingDetected",
                        Dimensions=[{"Name": "TrainingJobName", "Value": job}], Statistic="Maximum",
                        Period=10, EvaluationPeriods=36, DatapointsToAlarm=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="ignore")


def message(name, job, **extra):
    m = {"AlarmName": name, "AlarmArn": arn(name), "NewStateValue": "ALARM", "OldStateValue": "OK",
         "AlarmDescription": "TrainingJobName: " + job,
         "Trigger": {"MetricName": "OverfittingDetected", "Namespace": "FitWatch",
                     "Dimensions": [{"name": "TrainingJobName", "value": job}]}}
    m.update(extra)
    return m


@unittest.skipIf(mock_aws is None, "moto is not installed for this python3 (no Debian package)")
class AutoStopAgainstMoto(unittest.TestCase):
    def setUp(self):
        env = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "JOB_NAME_PREFIX": "job-", "ACCOUNT_ID": ACCOUNT}
        self.env = mock.patch.dict(os.environ, env)
        self.env.start()
        self.aws = mock_aws()
        self.aws.start()
        self.cw = boto3.client("cloudwatch")
        metric_alarm(self.cw, "job-a-fitwatch-overfitting", "job-a")
        self.cw.set_alarm_state(AlarmName="job-a-fitwatch-overfitting", StateValue="ALARM", StateReason="test")
        metric_alarm(self.cw, "job-b-fitwatch-overfitting", "job-b")  # OK (INSUFFICIENT_DATA) now
        self.cw.put_metric_alarm(
            AlarmName="fitwatch-fleet-overfitting-s", EvaluationPeriods=60, DatapointsToAlarm=1, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="ignore",
            Metrics=[{"Id": "verdict", "ReturnData": True, "Period": 60, "Expression":
                      'SELECT MAX(OverfittingDetected) FROM SCHEMA("FitWatch", TrainingJobName) '
                      'GROUP BY TrainingJobName ORDER BY MAX() DESC'}])
        self.cw.set_alarm_state(AlarmName="fitwatch-fleet-overfitting-s", StateValue="ALARM", StateReason="t")
        self.module = load_handler()
        self.sagemaker = FakeSageMaker({j: "InProgress" for j in JOBS})
        self.contributors = {"fitwatch-fleet-overfitting-s": ["job-d"]}
        cw = boto3.client("cloudwatch")

        def contributors(AlarmName, NextToken=None):
            cw.describe_alarms(AlarmNames=[AlarmName])  # the name passes botocore's validation
            return {"AlarmContributors": [{"ContributorId": "0123456789abcdef", "StateReason": "t",
                                           "ContributorAttributes": {"TrainingJobName": j}}
                                          for j in self.contributors.get(AlarmName, [])]}

        cw.describe_alarm_contributors = contributors
        self.module._clients.update(cloudwatch=cw, sagemaker=self.sagemaker)

    def tearDown(self):
        self.aws.stop()
        self.env.stop()

    def handle(self, m):
        return self.module.handler(sns_event(m), None)

    def test_the_real_alarm_stops_its_job(self):
        self.assertEqual(self.handle(message("job-a-fitwatch-overfitting", "job-a")), {"stopped": ["job-a"]})

    def test_forged_messages_stop_nothing(self):
        forged = [
            message("job-victim-fitwatch-overfitting", "job-victim"),  # no such alarm
            message("job-b-fitwatch-overfitting", "job-b"),  # exists, not in ALARM now
            message("job-a-fitwatch-overfitting", "job-a",  # another account's ARN
                    AlarmArn=arn("job-a-fitwatch-overfitting", account="999999999999")),
            message("job-a-fitwatch-overfitting", "job-a",  # another Region's
                    AlarmArn=arn("job-a-fitwatch-overfitting", region="eu-west-1")),
            message("fitwatch-fleet-overfitting-s", "job-victim",  # a contributor not in ALARM
                    AlarmContributorAttributes={"TrainingJobName": "job-victim"}),
            message("job-a-fitwatch-overfitting", "job-a", NewStateValue="OK"),
        ]
        for m in forged:
            with self.subTest(alarm=m["AlarmArn"], job=m["AlarmDescription"]):
                self.assertEqual(self.handle(m), {"stopped": []})
        # A job named in a real ALARM's message but not in its dimensions.
        victim = message("job-a-fitwatch-overfitting", "job-victim")
        self.assertEqual(self.handle(victim), {"stopped": ["job-a"]})
        self.assertNotIn("job-victim", self.sagemaker.stopped)

    def test_the_fleet_contributor_in_alarm_is_stopped(self):
        m = message("fitwatch-fleet-overfitting-s", "job-d",
                    AlarmContributorAttributes={"TrainingJobName": "job-d"})
        self.assertEqual(self.handle(m), {"stopped": ["job-d"]})

    def test_not_json_is_ignored(self):
        self.assertEqual(self.module.handler({"Records": [{"Sns": {"Message": "x"}}]}, None), {"stopped": []})


if __name__ == "__main__":
    unittest.main()
