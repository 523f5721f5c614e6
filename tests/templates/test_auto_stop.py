"""The auto-stop Lambda handler (inline in templates/auto-stop.yaml), run
locally with a fake SageMaker client, on the message shapes fitwatch's alarms
send: a single-metric alarm, a metric-math alarm, a composite alarm (no
dimensions), and a Metrics Insights contributor."""
import json
import os
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


def sns_event(message):
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}


SINGLE = {
    "AlarmName": "job-a-fitwatch-overfitting", "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": "fitwatch's detector says ... TrainingJobName: job-a",
    "Trigger": {"MetricName": "OverfittingDetected", "Namespace": "FitWatch", "Statistic": "MAXIMUM",
                "Dimensions": [{"value": "job-a", "name": "TrainingJobName"}], "Period": 10,
                "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "Threshold": 1.0, "TreatMissingData": "ignore"},
}
MATH = {
    "AlarmName": "gap-math", "NewStateValue": "ALARM", "OldStateValue": "OK", "AlarmDescription": None,
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
    "AlarmName": "job-c-fitwatch-alert", "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": "Training job job-c needs attention ... TrainingJobName: job-c",
    "AlarmRule": 'ALARM("job-c-fitwatch-overfitting") OR ALARM("job-c-fitwatch-divergence")',
    "TriggeringChildren": [{"Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:job-c-fitwatch-overfitting",
                            "State": {"Value": "ALARM", "Timestamp": "2025-06-15T12:07:17.000+0000"}}],
}
INSIGHTS = {
    "AlarmName": "fitwatch-fleet-overfitting-s", "NewStateValue": "ALARM", "OldStateValue": "OK",
    "AlarmDescription": "fitwatch's detector says a training job is overfitting",
    "AlarmContributorAttributes": {"TrainingJobName": "job-d"},
    "Trigger": {"Period": 60, "Metrics": [{"Id": "verdict", "Expression": "SELECT MAX(OverfittingDetected) ...",
                                           "ReturnData": True}]},
}


class AutoStop(unittest.TestCase):
    def run_handler(self, message, statuses, prefix=""):
        module = load_handler()
        fake = FakeSageMaker(statuses)
        with mock.patch.dict(os.environ, {"JOB_NAME_PREFIX": prefix}), \
                mock.patch.object(module.boto3, "client", return_value=fake):
            result = module.handler(sns_event(message), None)
        return result, fake

    def test_single_metric_alarm_stops_its_job(self):
        result, fake = self.run_handler(SINGLE, {"job-a": "InProgress"})
        self.assertEqual(fake.stopped, ["job-a"])
        self.assertEqual(result, {"stopped": ["job-a"]})

    def test_metric_math_alarm_stops_its_job_once(self):
        result, fake = self.run_handler(MATH, {"job-b": "InProgress"})
        self.assertEqual(fake.stopped, ["job-b"])

    def test_composite_alarm_without_dimensions_stops_the_job_named_in_its_description(self):
        result, fake = self.run_handler(COMPOSITE, {"job-c": "InProgress"})
        self.assertEqual(fake.stopped, ["job-c"])

    def test_metrics_insights_contributor(self):
        result, fake = self.run_handler(INSIGHTS, {"job-d": "InProgress"})
        self.assertEqual(fake.stopped, ["job-d"])

    def test_idempotent_a_job_already_stopping_or_done_is_left_alone(self):
        for status in ["Stopping", "Stopped", "Completed", "Failed"]:
            result, fake = self.run_handler(SINGLE, {"job-a": status})
            self.assertEqual(fake.stopped, [], status)
            self.assertEqual(result, {"stopped": []})

    def test_a_job_stopped_between_describe_and_stop_is_not_an_error(self):
        module = load_handler()
        fake = FakeSageMaker({"job-a": "InProgress"})
        fake.stop_training_job = mock.Mock(side_effect=ClientError(
            {"Error": {"Code": "ValidationException", "Message": "already stopping"}}, "StopTrainingJob"))
        with mock.patch.object(module.boto3, "client", return_value=fake):
            self.assertEqual(module.handler(sns_event(SINGLE), None), {"stopped": []})

    def test_ok_notifications_stop_nothing(self):
        ok = dict(SINGLE, NewStateValue="OK", OldStateValue="ALARM")
        result, fake = self.run_handler(ok, {"job-a": "InProgress"})
        self.assertEqual(fake.stopped, [])

    def test_prefix_limits_which_jobs_may_be_stopped(self):
        result, fake = self.run_handler(SINGLE, {"job-a": "InProgress"}, prefix="other-")
        self.assertEqual(fake.stopped, [])

    def test_iam_allows_only_stop_and_describe_on_prefixed_jobs(self):
        role = TEMPLATE["Resources"]["StopFunctionRole"]["Properties"]
        stmt = role["Policies"][0]["PolicyDocument"]["Statement"]
        self.assertEqual(len(stmt), 1)
        self.assertEqual(sorted(stmt[0]["Action"]), ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"])
        self.assertTrue(stmt[0]["Resource"]["Fn::Sub"].endswith(":training-job/${TrainingJobNamePrefix}*"))


if __name__ == "__main__":
    unittest.main()
