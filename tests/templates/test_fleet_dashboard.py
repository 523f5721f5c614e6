"""The fleet dashboard of templates/fleet-alerts.yaml, evaluated as
CloudFormation would (the evaluator of test_dashboard.py), parsed as JSON and
compared as parsed values; and the alarm descriptions that link to it.
Body syntax:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html"""
import json
import os
import re
import unittest

import cfn
import check_metrics
from test_dashboard import ACCOUNT, REGION, Evaluator, arn, assert_widgets_fit_and_do_not_overlap

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FLEET = os.path.join(ROOT, "templates", "fleet-alerts.yaml")
STACK = "fleet-7"
DASHBOARD_URL = ("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s"
                 "#dashboards/dashboard/fitwatch-fleet-%s" % (REGION, REGION, STACK))


def evaluator(**overrides):
    params = {"TeamEmails": "a@example.com", "AWS::StackName": STACK}
    params.update({k: str(v) for k, v in overrides.items()})
    return Evaluator(cfn.load(FLEET), params)


def body(**overrides):
    t = cfn.load(FLEET)
    return json.loads(evaluator(**overrides).eval(t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]))


def widgets(kind):
    return [w["properties"] for w in body()["widgets"] if w["type"] == kind]


def query_of(props):
    """The Metrics Insights query of a metric widget with one expression."""
    (entry,) = props["metrics"]
    (options,) = entry
    return options["expression"]


class FleetDashboard(unittest.TestCase):
    def test_name_is_the_one_the_alarm_descriptions_link_to(self):
        t = cfn.load(FLEET)
        ev = evaluator()
        self.assertEqual(ev.eval(t["Resources"]["Dashboard"]["Properties"]["DashboardName"]),
                         "fitwatch-fleet-" + STACK)
        for alarm in ("FleetOverfittingAlarm", "FleetDivergenceAlarm"):
            with self.subTest(alarm=alarm):
                text = ev.eval(t["Resources"][alarm]["Properties"]["AlarmDescription"])
                lines = text.split("\n")
                self.assertIn(DASHBOARD_URL, lines)
                self.assertGreater(len(lines), 2)  # short multi-line text
                self.assertLessEqual(len(text.replace(STACK, "s" * 128)), 1024)
                self.assertIn("TrainingJobName", text)

    def test_verdict_and_divergence_per_job_are_metrics_insights_queries(self):
        queries = {p["title"]: query_of(p) for p in widgets("metric")}
        by_metric = {}
        for title, q in queries.items():
            m = re.fullmatch(r'SELECT (MAX|AVG)\((\w+)\) FROM SCHEMA\("FitWatch", TrainingJobName\) '
                             r'GROUP BY TrainingJobName( ORDER BY MAX\(\) DESC)?', q)
            self.assertIsNotNone(m, q)
            by_metric[m.group(2)] = (m.group(1), title)
        self.assertEqual(by_metric["OverfittingDetected"][0], "MAX")
        self.assertEqual(by_metric["TrainingDiverged"][0], "MAX")
        self.assertEqual(by_metric["ValidationLoss"][0], "AVG")
        self.assertEqual(by_metric["TrainLoss"][0], "AVG")
        # The alarms' own queries, so the graph shows what the alarm reads.
        t = cfn.load(FLEET)
        ev = evaluator()
        for alarm, metric in (("FleetOverfittingAlarm", "OverfittingDetected"),
                              ("FleetDivergenceAlarm", "TrainingDiverged")):
            (q,) = t["Resources"][alarm]["Properties"]["Metrics"]
            self.assertEqual(ev.eval(q["Expression"]),
                             query_of([p for p in widgets("metric")
                                       if p["title"] == by_metric[metric][1]][0]))
        for props in widgets("metric"):
            self.assertEqual(props["region"], REGION)
            self.assertEqual(props["period"], 60)  # Metrics Insights: 1-minute data

    def test_custom_namespace_reaches_every_query(self):
        b = json.loads(evaluator(MetricNamespace="Team/ML").eval(
            cfn.load(FLEET)["Resources"]["Dashboard"]["Properties"]["DashboardBody"]))
        for w in b["widgets"]:
            if w["type"] == "metric":
                self.assertIn('SCHEMA("Team/ML", TrainingJobName)', query_of(w["properties"]))

    def test_the_schema_check_reads_the_dashboards_queries(self):
        # A dashboard query on a metric the library does not write is caught.
        text = cfn.read(FLEET)
        old = 'SELECT AVG(ValidationLoss) FROM SCHEMA(\\"${MetricNamespace}\\", TrainingJobName)'
        self.assertIn(old, text)
        schema = check_metrics.schema(os.environ["FITWATCH_CLI"])
        self.assertEqual(check_metrics.check(cfn.load(text, text=True), schema), [])
        problems = check_metrics.check(cfn.load(text.replace(old, old.replace("ValidationLoss", "ValLoss")),
                                                text=True), schema)
        self.assertEqual(problems, ["Dashboard: metric 'ValLoss' is not one fitwatch emits"])

    def test_alarm_widget_lists_both_alarms(self):
        (alarms,) = widgets("alarm")
        self.assertEqual(alarms["alarms"], [arn("FleetOverfittingAlarm"), arn("FleetDivergenceAlarm")])

    def test_logs_insights_widget_lists_every_jobs_reasons(self):
        (logs,) = widgets("log")
        q = logs["query"]
        self.assertTrue(q.startswith("SOURCE '/aws/sagemaker/TrainingJobs' |"), q)
        fields = re.search(r"\| fields ([^|]+) \|", q).group(1)
        self.assertEqual([f.strip() for f in fields.split(",")],
                         ["@timestamp", "TrainingJobName", "Epoch", "TrainLoss", "ValidationLoss",
                          "BestEpoch", "OverfittingReason"])
        self.assertIn("OverfittingReason != ''", q)
        self.assertNotIn("filter TrainingJobName", q)  # every job
        self.assertEqual(logs["region"], REGION)

    def test_range_is_what_metrics_insights_reads_and_widgets_do_not_overlap(self):
        b = body()
        self.assertEqual(b["start"], "-PT3H")
        assert_widgets_fit_and_do_not_overlap(self, b)


if __name__ == "__main__":
    unittest.main()
