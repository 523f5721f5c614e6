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
    """DescribeAlarms and DescribeAlarmContributors over the alarms that
    exist: what the handler trusts, never the message."""

    def __init__(self, alarms, contributors=None):
        self.alarms = alarms
        self.contributors = contributors or {}
        self.calls = []

    def describe_alarms(self, AlarmNames, AlarmTypes):
        self.calls.append((AlarmNames, AlarmTypes))
        found = [a for a in self.alarms if a["AlarmName"] in AlarmNames]
        return {"MetricAlarms": [a for a in found if "AlarmRule" not in a and "MetricAlarm" in AlarmTypes],
                "CompositeAlarms": [a for a in found if "AlarmRule" in a and "CompositeAlarm" in AlarmTypes]}

    def describe_alarm_contributors(self, AlarmName, NextToken=None):
        return {"AlarmContributors": [
            {"ContributorId": "0123456789abcdef", "ContributorAttributes": {"TrainingJobName": job},
             "StateReason": "Threshold Crossed"} for job in self.contributors.get(AlarmName, [])]}


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
CHILD_C = {"AlarmName": "job-c-fitwatch-overfitting", "Namespace": "FitWatch", "StateValue": "ALARM",
           "MetricName": "OverfittingDetected", "Dimensions": [{"Name": "TrainingJobName", "Value": "job-c"}]}
INSIGHTS = {
    "AlarmName": "fitwatch-fleet-overfitting-s", "AlarmArn": arn("fitwatch-fleet-overfitting-s"),
    "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": "fitwatch's detector says a training job is overfitting",
    "AlarmContributorAttributes": {"TrainingJobName": "job-d"},
    "Trigger": {"Period": 60, "Metrics": [{"Id": "verdict", "Expression": "SELECT MAX(OverfittingDetected) ...",
                                           "ReturnData": True}]},
}


# The alarms as DescribeAlarms returns them (in ALARM now).
DESCRIBED = [
    {"AlarmName": "job-a-fitwatch-overfitting", "StateValue": "ALARM", "Namespace": "FitWatch",
     "MetricName": "OverfittingDetected", "Dimensions": [{"Name": "TrainingJobName", "Value": "job-a"}]},
    {"AlarmName": "gap-math", "StateValue": "ALARM", "Metrics": [
        {"Id": "gap", "Expression": "(v - t) / t", "ReturnData": True},
        {"Id": "v", "ReturnData": False, "MetricStat": {"Stat": "Maximum", "Period": 60, "Metric": {
            "Namespace": "FitWatch", "MetricName": "ValidationLoss",
            "Dimensions": [{"Name": "TrainingJobName", "Value": "job-b"}]}}}]},
    {"AlarmName": "job-c-fitwatch-alert", "StateValue": "ALARM",
     "AlarmRule": 'ALARM("job-c-fitwatch-overfitting") OR ALARM("job-c-fitwatch-divergence")'},
    CHILD_C,
    {"AlarmName": "fitwatch-fleet-overfitting-s", "StateValue": "ALARM", "Metrics": [
        {"Id": "verdict", "ReturnData": True, "Period": 60, "Expression":
         'SELECT MAX(OverfittingDetected) FROM SCHEMA("FitWatch", TrainingJobName) GROUP BY TrainingJobName'}]},
]


class AutoStop(unittest.TestCase):
    def run_handler(self, message, statuses, prefix="job-", alarms=tuple(DESCRIBED),
                    contributors=(("fitwatch-fleet-overfitting-s", ["job-d"]),)):
        module = load_handler()
        fakes = {"sagemaker": FakeSageMaker(statuses),
                 "cloudwatch": FakeCloudWatch(list(alarms), dict(contributors))}
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

    def test_the_job_comes_from_the_described_alarm_not_from_the_message(self):
        # A forged message: another job in the Trigger, the alarm exists and
        # is in ALARM: only the alarm's own job (per DescribeAlarms).
        forged = dict(SINGLE, Trigger=dict(SINGLE["Trigger"], Dimensions=[
            {"name": "TrainingJobName", "value": "job-victim"}]))
        result, fake = self.run_handler(forged, {"job-a": "InProgress", "job-victim": "InProgress"})
        self.assertEqual(fake.stopped, ["job-a"])

    def test_an_alarm_that_does_not_exist_or_is_not_in_alarm_stops_nothing(self):
        ghost = dict(SINGLE, AlarmName="job-x-fitwatch-overfitting", AlarmArn=arn("job-x-fitwatch-overfitting"))
        result, fake = self.run_handler(ghost, {"job-a": "InProgress"})
        self.assertEqual(fake.stopped, [])
        ok_now = [dict(a, StateValue="OK") for a in DESCRIBED]
        for message in [SINGLE, MATH, COMPOSITE, INSIGHTS]:
            result, fake = self.run_handler(message, {j: "InProgress" for j in ["job-a", "job-b", "job-c", "job-d"]},
                                            alarms=ok_now)
            self.assertEqual(fake.stopped, [], message["AlarmName"])
        # A composite in ALARM whose children are OK now.
        children_ok = [dict(a, StateValue="OK") if a is CHILD_C else a for a in DESCRIBED]
        result, fake = self.run_handler(COMPOSITE, {"job-c": "InProgress"}, alarms=children_ok)
        self.assertEqual(fake.stopped, [])

    def test_a_contributor_not_in_alarm_now_is_not_stopped(self):
        forged = dict(INSIGHTS, AlarmContributorAttributes={"TrainingJobName": "job-victim"})
        result, fake = self.run_handler(forged, {"job-d": "InProgress", "job-victim": "InProgress"})
        self.assertEqual(fake.stopped, [])
        result, fake = self.run_handler(INSIGHTS, {"job-d": "InProgress"}, contributors=())
        self.assertEqual(fake.stopped, [])

    def test_a_message_that_is_not_json_is_ignored(self):
        module = load_handler()
        env = {"JOB_NAME_PREFIX": "job-", "ACCOUNT_ID": ACCOUNT, "AWS_REGION": REGION}
        with mock.patch.dict(os.environ, env):
            event = {"Records": [{"Sns": {"Message": "fitwatch: job-a is overfitting"}}]}
            self.assertEqual(module.handler(event, None), {"stopped": []})

    def test_a_job_named_only_in_the_description_is_never_stopped(self):
        # M9: anyone who may create an alarm could write any job name in its
        # description; the old handler stopped it.
        forged = dict(COMPOSITE, AlarmDescription="TrainingJobName: job-victim", TriggeringChildren=[])
        result, fake = self.run_handler(forged, {"job-victim": "InProgress", "job-c": "InProgress"})
        self.assertEqual(fake.stopped, ["job-c"])  # the described composite's child, not the victim
        forged = dict(SINGLE, AlarmDescription="TrainingJobName: job-victim", Trigger={})
        result, fake = self.run_handler(forged, {"job-victim": "InProgress", "job-a": "InProgress"})
        self.assertEqual(fake.stopped, ["job-a"])  # the described alarm's job, not the victim

    def test_an_alarm_of_another_account_or_region_is_ignored(self):
        for other in [arn("x", account="999999999999"), arn("x", region="eu-west-1"), None,
                      "arn:aws:sns:us-east-1:123456789012:alarm:x"]:
            result, fake = self.run_handler(dict(SINGLE, AlarmArn=other), {"job-a": "InProgress"})
            self.assertEqual(fake.stopped, [], other)
        # Children in another account's rule are not described either.
        foreign = [dict(a, AlarmRule='ALARM("%s")' % arn("job-c-fitwatch-overfitting", "999999999999"))
                   if "AlarmRule" in a else a for a in DESCRIBED]
        result, fake = self.run_handler(COMPOSITE, {"job-c": "InProgress"}, alarms=foreign)
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
        fakes = {"sagemaker": fake, "cloudwatch": FakeCloudWatch(DESCRIBED)}
        with mock.patch.dict(os.environ, env), \
                mock.patch.object(module.boto3, "client", side_effect=lambda name: fakes[name]):
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
        self.assertTrue(by_action[json.dumps(["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmContributors"])]
                        ["Fn::Sub"].endswith(":${AWS::AccountId}:alarm:*"))
        for s in stmts:
            self.assertNotEqual(s["Resource"], "*")

    def test_the_log_group_expires(self):
        group = TEMPLATE["Resources"]["StopFunctionLogGroup"]
        self.assertEqual(group["Properties"]["RetentionInDays"], {"Ref": "LogRetentionInDays"})
        self.assertEqual(TEMPLATE["Resources"]["StopFunction"]["Properties"]["LoggingConfig"],
                         {"LogGroup": {"Ref": "StopFunctionLogGroup"}})


if __name__ == "__main__":
    unittest.main()
