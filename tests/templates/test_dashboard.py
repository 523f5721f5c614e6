"""The dashboard of templates/overfitting-alerts.yaml: its DashboardBody is
evaluated as CloudFormation would (parameters, conditions, Fn::Sub, Fn::If,
Fn::GetAtt), parsed as JSON, and its widgets compared as parsed values.
Body syntax:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html"""
import json
import os
import re
import subprocess
import tempfile
import unittest

import cfn

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAIN = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
REGION, ACCOUNT = "eu-west-1", "123456789012"


def arn(logical_id):
    return "arn:aws:cloudwatch:%s:%s:alarm:%s" % (REGION, ACCOUNT, logical_id)


class Evaluator:
    """The intrinsic functions the dashboard uses, with these parameters."""

    def __init__(self, template, overrides):
        self.params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
        self.params.update(overrides)
        self.params.update({"AWS::Region": REGION, "AWS::AccountId": ACCOUNT})
        self.conditions = {}
        for name, node in template["Conditions"].items():
            self.conditions[name] = self.eval(node)

    def eval(self, node):
        if isinstance(node, list):
            return [self.eval(x) for x in node]
        if not isinstance(node, dict):
            return node
        if "Ref" in node:
            return self.params[node["Ref"]]
        if "Condition" in node:
            return self.conditions[node["Condition"]]
        if "Fn::Equals" in node:
            a, b = self.eval(node["Fn::Equals"])
            return str(a) == str(b)
        if "Fn::Not" in node:
            return not self.eval(node["Fn::Not"][0])
        if "Fn::If" in node:
            cond, yes, no = node["Fn::If"]
            return self.eval(yes if self.conditions[cond] else no)
        if "Fn::GetAtt" in node:
            return arn(node["Fn::GetAtt"][0])
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, extra = (sub, {}) if isinstance(sub, str) else (sub[0], self.eval(sub[1]))

            def value(m):
                name = m.group(1)
                if name in extra:
                    return str(extra[name])
                if name.endswith(".Arn"):
                    return arn(name[:-4])
                return self.params[name]
            return re.sub(r"\$\{([^}!]+)\}", value, text)
        return {k: self.eval(v) for k, v in node.items()}


def body(**overrides):
    template = cfn.load(MAIN)
    params = {"TrainingJobName": "job-7", "TeamEmails": "a@example.com"}
    params.update({k: str(v) for k, v in overrides.items()})
    ev = Evaluator(template, params)
    return json.loads(ev.eval(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]))


def assert_widgets_fit_and_do_not_overlap(test, b):
    """Every widget within the 24-column grid, and no cell under two widgets."""
    cells = set()
    for w in b["widgets"]:
        test.assertLessEqual(w["x"] + w["width"], 24)
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                test.assertNotIn((x, y), cells, w["properties"]["title"])
                cells.add((x, y))


def metric_widgets(b):
    return {w["properties"]["title"]: w["properties"] for w in b["widgets"] if w["type"] == "metric"}


def series(props):
    """(metric name, options) of each line of a metric widget."""
    out = []
    for m in props["metrics"]:
        names = [x for x in m if not isinstance(x, dict)]
        opts = next((x for x in m if isinstance(x, dict)), {})
        out.append((names[1], opts, dict(zip(names[2::2], names[3::2]))))
    return out


class Dashboard(unittest.TestCase):
    def test_losses_share_one_graph_with_the_verdict_threshold_on_the_right_axis(self):
        b = body()
        losses = metric_widgets(b)["Losses, best epoch and the overfitting verdict"]
        lines = {name: (opts, dims) for name, opts, dims in series(losses)}
        for name in ("TrainLoss", "ValidationLoss", "BestValidationLoss"):
            self.assertNotEqual(lines[name][0].get("yAxis", "left"), "right", name)
            self.assertEqual(lines[name][1], {"TrainingJobName": "job-7"})
        self.assertEqual(lines["OverfittingDetected"][0]["yAxis"], "right")
        self.assertEqual(losses["annotations"]["horizontal"],
                         [{"label": "alarm threshold: verdict or divergence >= 1 emails the team",
                           "value": 1, "yAxis": "right", "color": "#d62728", "fill": "above"}])
        self.assertEqual(losses["region"], REGION)
        self.assertEqual(losses["period"], 10)
        self.assertEqual(metric_widgets(body(AlarmResolution="standard"))[
            "Losses, best epoch and the overfitting verdict"]["period"], 60)

    def test_each_signal_on_its_own_axis_with_its_alarm_threshold_only_when_on(self):
        off = metric_widgets(body())
        on = metric_widgets(body(RiseStreakThreshold=3, NoImprovementThreshold=10,
                                 GapRatioThreshold=0.1))
        for title, metric, threshold in [
                ("Generalization loss (% above the best)", "GeneralizationLoss", None),
                ("Rise streak (evaluations)", "ValidationLossRiseStreak", 3),
                ("Evaluations since best", "EvaluationsSinceBest", 10),
                ("Generalization gap ratio", "GeneralizationGapRatio", 0.1)]:
            with self.subTest(metric=metric):
                self.assertEqual([s[0] for s in series(off[title])], [metric])
                self.assertEqual(off[title].get("annotations", {"horizontal": []})["horizontal"], [])
                values = [a["value"] for a in on[title].get("annotations", {}).get("horizontal", [])]
                self.assertEqual(values, [] if threshold is None else [threshold])

    def test_alarm_widget_lists_every_alarm_that_exists(self):
        def alarms(b):
            return [w["properties"]["alarms"] for w in b["widgets"] if w["type"] == "alarm"][0]
        base = [arn("OverfittingCompositeAlarm"), arn("OverfittingVerdictAlarm"), arn("DivergenceAlarm")]
        self.assertEqual(alarms(body()), base)
        self.assertEqual(alarms(body(RiseStreakThreshold=3, GapRatioThreshold=0.1, NoImprovementThreshold=10)),
                         base + [arn("RiseStreakAlarm"), arn("GeneralizationGapAlarm"), arn("NoImprovementAlarm")])

    def test_logs_insights_widget_lists_the_jobs_overfitting_reasons(self):
        logs = [w["properties"] for w in body()["widgets"] if w["type"] == "log"]
        self.assertEqual(len(logs), 1)
        q = logs[0]["query"]
        self.assertTrue(q.startswith("SOURCE '/aws/sagemaker/TrainingJobs' |"), q)
        self.assertIn("filter TrainingJobName = 'job-7'", q)
        self.assertIn("OverfittingReason != ''", q)
        self.assertIn("fields @timestamp, OverfittingReason, Epoch, TrainLoss, ValidationLoss, BestEpoch", q)
        self.assertEqual(logs[0]["region"], REGION)

    def test_default_range_covers_a_job_and_widgets_do_not_overlap(self):
        b = body()
        # SageMaker's default MaxRuntimeInSeconds is 86400 s: one day.
        self.assertEqual(b["start"], "-P1D")
        assert_widgets_fit_and_do_not_overlap(self, b)

    def test_series_have_the_colours_of_the_html_report(self):
        # The report draws the same series; the colours must agree.
        cli = os.environ["FITWATCH_CLI"]
        line = subprocess.run([cli, "emit", "--job-name", "job-7"], check=True, text=True,
                              capture_output=True,
                              input='{"epoch":1,"train_loss":1,"val_loss":1,"timestamp":1750000000000}\n').stdout
        with tempfile.TemporaryDirectory() as d:
            log, report = os.path.join(d, "l.log"), os.path.join(d, "r.html")
            with open(log, "w") as f:
                f.write(line)
            subprocess.run([cli, "replay", "--template", MAIN, "--param", "TrainingJobName=job-7",
                            "--param", "TeamEmails=a@example.com", "--report", report, log],
                           check=True, capture_output=True)
            with open(report) as f:
                html = f.read()
        stroke = {m.group(1): m.group(2) for m in
                  re.finditer(r'<path id="j0-([a-z-]+)" [^>]*stroke="(#[0-9a-f]{6})"', html)}
        lines = {}
        for props in metric_widgets(body()).values():
            for name, opts, _ in series(props):
                lines.setdefault(name, opts.get("color"))
        for report_id, metric in [("train", "TrainLoss"), ("validation", "ValidationLoss"),
                                  ("signal-gl", "GeneralizationLoss"),
                                  ("signal-streak", "ValidationLossRiseStreak"),
                                  ("signal-since-best", "EvaluationsSinceBest")]:
            self.assertEqual(stroke[report_id], lines[metric], metric)


if __name__ == "__main__":
    unittest.main()
