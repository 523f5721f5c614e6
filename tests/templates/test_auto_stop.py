"""The auto-stop Lambda handler (inline in templates/auto-stop.yaml), run
locally with a fake SageMaker client, on the message shapes fitwatch's alarms
send: a single-metric alarm, a metric-math alarm, a composite alarm (no
dimensions: its children's, from DescribeAlarms), a Metrics Insights
contributor; and forged ones (issue #12 M9): a job named only in the
description, an alarm of another account, an empty prefix."""
import json
import os
import re
import types
import unittest
from unittest import mock

from botocore.exceptions import ClientError

import cfn

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TEMPLATE = cfn.load(os.path.join(ROOT, "templates", "auto-stop.yaml"))
CODE = TEMPLATE["Resources"]["StopFunction"]["Properties"]["Code"]["ZipFile"]


def load_handler():
    module = types.ModuleType("index")
    exec(compile(CODE, "auto-stop index.py", "exec"), module.__dict__)
    return module


ACCOUNT, REGION = "123456789012", "us-east-1"


def arn(name, account=ACCOUNT, region=REGION):
    return "arn:aws:cloudwatch:%s:%s:alarm:%s" % (region, account, name)


class FakeSageMaker:
    def __init__(self, statuses):
        self.statuses = dict(statuses)
        self.stopped = []

    def describe_training_job(self, TrainingJobName):
        return {"TrainingJobStatus": self.statuses[TrainingJobName]}

    def stop_training_job(self, TrainingJobName):
        if self.statuses[TrainingJobName] != "InProgress":
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "not in progress"}},
                              "StopTrainingJob")
        self.statuses[TrainingJobName] = "Stopping"
        self.stopped.append(TrainingJobName)


class FakeCloudWatch:
    """DescribeAlarms over the child alarms of fitwatch's composite alarm."""

    def __init__(self, alarms):
        self.alarms = alarms
        self.calls = []

    def describe_alarms(self, AlarmNames, AlarmTypes):
        self.calls.append((AlarmNames, AlarmTypes))
        return {"MetricAlarms": [a for a in self.alarms if a["AlarmName"] in AlarmNames],
                "CompositeAlarms": []}


def sns_event(message):
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}


SINGLE = {
    "AlarmName": "job-a-fitwatch-overfitting", "AlarmArn": arn("job-a-fitwatch-overfitting"),
    "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": "fitwatch's detector says ... TrainingJobName: job-a",
    "Trigger": {"MetricName": "OverfittingDetected", "Namespace": "FitWatch", "Statistic": "MAXIMUM",
                "Dimensions": [{"value": "job-a", "name": "TrainingJobName"}], "Period": 10,
                "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "Threshold": 1.0, "TreatMissingData": "ignore"},
}
MATH = {
    "AlarmName": "gap-math", "AlarmArn": arn("gap-math"), "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": None,
    "Trigger": {"Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 0.5, "TreatMissingData": "ignore", "Metrics": [
                    {"Id": "gap", "Expression": "(v - t) / t", "ReturnData": True},
                    {"Id": "v", "ReturnData": False, "MetricStat": {"Stat": "Maximum", "Period": 60, "Metric": {
                        "Namespace": "FitWatch", "MetricName": "ValidationLoss",
                        "Dimensions": [{"value": "job-b", "name": "TrainingJobName"}]}}},
                    {"Id": "t", "ReturnData": False, "MetricStat": {"Stat": "Maximum", "Period": 60, "Metric": {
                        "Namespace": "FitWatch", "MetricName": "TrainLoss",
                        "Dimensions": [{"value": "job-b", "name": "TrainingJobName"}]}}}]},
}
COMPOSITE = {
    "AlarmName": "job-c-fitwatch-alert", "AlarmArn": arn("job-c-fitwatch-alert"),
    "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": "Training job job-c needs attention ... TrainingJobName: job-c",
    "AlarmRule": 'ALARM("job-c-fitwatch-overfitting") OR ALARM("job-c-fitwatch-divergence")',
    "TriggeringChildren": [{"Arn": arn("job-c-fitwatch-overfitting"),
                            "State": {"Value": "ALARM", "Timestamp": "2025-06-15T12:07:17.000+0000"}}],
}
CHILD_C = {"AlarmName": "job-c-fitwatch-overfitting", "Namespace": "FitWatch",
           "MetricName": "OverfittingDetected", "Dimensions": [{"Name": "TrainingJobName", "Value": "job-c"}]}
INSIGHTS = {
    "AlarmName": "fitwatch-fleet-overfitting-s", "AlarmArn": arn("fitwatch-fleet-overfitting-s"),
    "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": "fitwatch's detector says a training job is overfitting",
    "AlarmContributorAttributes": {"TrainingJobName": "job-d"},
    "Trigger": {"Period": 60, "Metrics": [{"Id": "verdict", "Expression": "SELECT MAX(OverfittingDetected) ...",
                                           "ReturnData": True}]},
}


class AutoStop(unittest.TestCase):
    def run_handler(self, message, statuses, prefix="job-", alarms=(CHILD_C,)):
        module = load_handler()
        fakes = {"sagemaker": FakeSageMaker(statuses), "cloudwatch": FakeCloudWatch(list(alarms))}
        env = {"JOB_NAME_PREFIX": prefix, "ACCOUNT_ID": ACCOUNT, "AWS_REGION": REGION}
        with mock.patch.dict(os.environ, env), \
                mock.patch.object(module.boto3, "client", side_effect=lambda name: fakes[name]):
            result = module.handler(sns_event(message), None)
        return result, fakes["sagemaker"]

    def test_single_metric_alarm_stops_its_job(self):
        result, fake = self.run_handler(SINGLE, {"job-a": "InProgress"})
        self.assertEqual(fake.stopped, ["job-a"])
        self.assertEqual(result, {"stopped": ["job-a"]})

    def test_metric_math_alarm_stops_its_job_once(self):
        result, fake = self.run_handler(MATH, {"job-b": "InProgress"})
        self.assertEqual(fake.stopped, ["job-b"])

    def test_composite_alarm_stops_the_job_in_its_childrens_dimensions(self):
        result, fake = self.run_handler(COMPOSITE, {"job-c": "InProgress"})
        self.assertEqual(fake.stopped, ["job-c"])

    def test_metrics_insights_contributor(self):
        result, fake = self.run_handler(INSIGHTS, {"job-d": "InProgress"})
        self.assertEqual(fake.stopped, ["job-d"])

    def test_a_job_named_only_in_the_description_is_never_stopped(self):
        # M9: anyone who may create an alarm could write any job name in its
        # description; the old handler stopped it.
        forged = dict(COMPOSITE, AlarmDescription="TrainingJobName: job-victim", TriggeringChildren=[])
        result, fake = self.run_handler(forged, {"job-victim": "InProgress"})
        self.assertEqual(fake.stopped, [])
        forged = dict(SINGLE, AlarmDescription="TrainingJobName: job-victim", Trigger={})
        result, fake = self.run_handler(forged, {"job-victim": "InProgress"})
        self.assertEqual(fake.stopped, [])

    def test_an_alarm_of_another_account_or_region_is_ignored(self):
        for other in [arn("x", account="999999999999"), arn("x", region="eu-west-1"), None,
                      "arn:aws:sns:us-east-1:123456789012:alarm:x"]:
            result, fake = self.run_handler(dict(SINGLE, AlarmArn=other), {"job-a": "InProgress"})
            self.assertEqual(fake.stopped, [], other)
        # Children of another account are not described either.
        foreign = dict(COMPOSITE, TriggeringChildren=[{"Arn": arn("job-c-fitwatch-overfitting", "999999999999")}])
        result, fake = self.run_handler(foreign, {"job-c": "InProgress"})
        self.assertEqual(fake.stopped, [])

    def test_idempotent_a_job_already_stopping_or_done_is_left_alone(self):
        for status in ["Stopping", "Stopped", "Completed", "Failed"]:
            result, fake = self.run_handler(SINGLE, {"job-a": status})
            self.assertEqual(fake.stopped, [], status)
            self.assertEqual(result, {"stopped": []})

    def test_a_job_stopped_between_describe_and_stop_is_not_an_error(self):
        fake = FakeSageMaker({"job-a": "InProgress"})
        fake.stop_training_job = mock.Mock(side_effect=ClientError(
            {"Error": {"Code": "ValidationException", "Message": "already stopping"}}, "StopTrainingJob"))
        module = load_handler()
        env = {"JOB_NAME_PREFIX": "job-", "ACCOUNT_ID": ACCOUNT, "AWS_REGION": REGION}
        with mock.patch.dict(os.environ, env), mock.patch.object(module.boto3, "client", return_value=fake):
            self.assertEqual(module.handler(sns_event(SINGLE), None), {"stopped": []})

    def test_ok_notifications_stop_nothing(self):
        ok = dict(SINGLE, NewStateValue="OK", OldStateValue="ALARM")
        result, fake = self.run_handler(ok, {"job-a": "InProgress"})
        self.assertEqual(fake.stopped, [])

    def test_prefix_limits_which_jobs_may_be_stopped(self):
        result, fake = self.run_handler(SINGLE, {"job-a": "InProgress"}, prefix="other-")
        self.assertEqual(fake.stopped, [])
        # An empty prefix stops nothing (the template cannot even set one).
        result, fake = self.run_handler(SINGLE, {"job-a": "InProgress"}, prefix="")
        self.assertEqual(fake.stopped, [])

    def test_the_prefix_is_required_and_never_empty(self):
        param = TEMPLATE["Parameters"]["TrainingJobNamePrefix"]
        self.assertNotIn("Default", param)
        pattern = re.compile(param["AllowedPattern"])
        self.assertIsNone(pattern.match(""))
        self.assertTrue(pattern.match("myteam-"))

    def test_iam_allows_only_stop_and_describe_on_prefixed_jobs_and_its_own_log_group(self):
        role = TEMPLATE["Resources"]["StopFunctionRole"]["Properties"]
        self.assertNotIn("ManagedPolicyArns", role)  # AWSLambdaBasicExecutionRole: any log group
        stmts = role["Policies"][0]["PolicyDocument"]["Statement"]
        by_action = {json.dumps(s["Action"]): s["Resource"] for s in stmts}
        self.assertEqual(sorted(stmts[0]["Action"]), ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"])
        self.assertTrue(stmts[0]["Resource"]["Fn::Sub"].endswith(":training-job/${TrainingJobNamePrefix}*"))
        self.assertEqual(by_action[json.dumps(["logs:CreateLogStream", "logs:PutLogEvents"])],
                         {"Fn::GetAtt": ["StopFunctionLogGroup", "Arn"]})
        self.assertTrue(by_action['"cloudwatch:DescribeAlarms"']["Fn::Sub"].endswith(":${AWS::AccountId}:alarm:*"))
        for s in stmts:
            self.assertNotEqual(s["Resource"], "*")

    def test_the_log_group_expires(self):
        group = TEMPLATE["Resources"]["StopFunctionLogGroup"]
        self.assertEqual(group["Properties"]["RetentionInDays"], {"Ref": "LogRetentionInDays"})
        self.assertEqual(TEMPLATE["Resources"]["StopFunction"]["Properties"]["LoggingConfig"],
                         {"LogGroup": {"Ref": "StopFunctionLogGroup"}})


if __name__ == "__main__":
    unittest.main()
