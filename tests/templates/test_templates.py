"""The templates against the library's schema (`fitwatch schema`)."""
import glob
import json
import os
import re
import subprocess
import unittest

import cfn
import check_metrics

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TEMPLATES = sorted(glob.glob(os.path.join(ROOT, "templates", "*.yaml")))
MAIN = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
FLEET = os.path.join(ROOT, "templates", "fleet-alerts.yaml")
SCHEMA = check_metrics.schema(os.environ["FITWATCH_CLI"])


class TemplatesWatchWhatTheLibraryEmits(unittest.TestCase):
    def test_every_template_is_consistent(self):
        self.assertGreaterEqual(len(TEMPLATES), 3)
        for path in TEMPLATES:
            with self.subTest(template=os.path.basename(path)):
                self.assertEqual(check_metrics.check(cfn.load(path), SCHEMA), [])

    def test_the_check_covers_alarms_dashboard_filters_and_insights(self):
        # The check must see metrics in all four places, or it proves nothing.
        seen = {"alarm": 0, "dashboard": 0, "filter": 0, "insights": 0}
        text = cfn.read(MAIN) + cfn.read(os.path.join(ROOT, "templates", "fleet-alerts.yaml"))
        seen["alarm"] = len(re.findall(r"MetricName: \w+", text))
        seen["dashboard"] = len(re.findall(r'\["\$\{MetricNamespace\}", "\w+"', text))
        seen["filter"] = text.count("AWS::Logs::MetricFilter")
        seen["insights"] = text.count("FROM SCHEMA(")
        for place, count in seen.items():
            self.assertGreater(count, 0, place)

    def mutated(self, old, new, path=MAIN):
        text = cfn.read(path)
        self.assertIn(old, text)
        return check_metrics.check(cfn.load(text.replace(old, new, 1), text=True), SCHEMA)

    def test_fails_when_an_alarm_metric_name_changes(self):
        problems = self.mutated("MetricName: OverfittingDetected", "MetricName: OverfitingDetected")
        self.assertTrue(any("'OverfitingDetected' is not one fitwatch emits" in p for p in problems), problems)

    def test_fails_when_a_dimension_set_differs(self):
        problems = self.mutated(
            "Dimensions: [{Name: TrainingJobName, Value: !Ref TrainingJobName}]\n      Statistic: Maximum\n      Period: !If [HighResolution, 10, 60]\n      EvaluationPeriods: !If [HighResolution, 36, 6]\n      DatapointsToAlarm: 1\n      Threshold: 1",
            "Dimensions: [{Name: TrainingJobName, Value: !Ref TrainingJobName}, {Name: Host, Value: algo-1}]\n      Statistic: Maximum\n      Period: !If [HighResolution, 10, 60]\n      EvaluationPeriods: !If [HighResolution, 36, 6]\n      DatapointsToAlarm: 1\n      Threshold: 1")
        self.assertTrue(any("dimensions ['Host', 'TrainingJobName'] differ" in p for p in problems), problems)

    def test_fails_when_a_dashboard_metric_changes(self):
        problems = self.mutated('"${MetricNamespace}", "TrainLoss"', '"${MetricNamespace}", "TrainingLoss"')
        self.assertTrue(any("'TrainingLoss'" in p for p in problems), problems)

    def test_fails_when_a_filter_metric_changes(self):
        problems = self.mutated("TrainingDiverged, TrainLoss, ValidationLoss]", "TrainingDiverged, TrainLoss, ValLoss]")
        self.assertTrue(any("'ValLoss'" in p for p in problems), problems)

    def test_fails_when_the_insights_query_changes(self):
        path = os.path.join(ROOT, "templates", "fleet-alerts.yaml")
        problems = self.mutated("SELECT MAX(OverfittingDetected)", "SELECT MAX(Overfitting)", path)
        self.assertTrue(any("'Overfitting'" in p for p in problems), problems)

    def test_fails_when_the_namespace_default_changes(self):
        problems = self.mutated("    Default: FitWatch", "    Default: FitWatchX")
        self.assertTrue(any("MetricNamespace default" in p for p in problems), problems)


class MainTemplate(unittest.TestCase):
    t = cfn.load(MAIN)

    def alarms(self):
        return {k: v for k, v in self.t["Resources"].items()
                if isinstance(v, dict) and v.get("Type") == "AWS::CloudWatch::Alarm"}

    def test_descriptions_fit_in_1024_characters_with_the_longest_job_name(self):
        job = "j" * 63
        for name, res in self.t["Resources"].items():
            if not isinstance(res, dict) or "AlarmDescription" not in res.get("Properties", {}):
                continue
            text = res["Properties"]["AlarmDescription"]
            text = text["Fn::Sub"] if isinstance(text, dict) else text
            text = text.replace("${TrainingJobName}", job).replace("${AWS::Region}", "ap-southeast-2")
            text = re.sub(r"\$\{\w+\}", "99", text)
            with self.subTest(alarm=name):
                self.assertLessEqual(len(text), 1024)
                self.assertIn("TrainingJobName: " + job, text)  # for people (auto-stop reads dimensions)

    def test_composite_rule_names_every_child_alarm(self):
        rule = json.dumps(self.t["Resources"]["OverfittingCompositeAlarm"]["Properties"]["AlarmRule"])
        for name in self.alarms():
            self.assertIn('ALARM(\\"${%s}\\")' % name, rule)

    def test_extra_rules_are_off_by_default_and_conditional(self):
        # The email follows the verdict and divergence; every other alarm is
        # one parameter away (default 0 = off), with its condition.
        params = self.t["Parameters"]
        for name, res in self.alarms().items():
            if name in ("OverfittingVerdictAlarm", "DivergenceAlarm"):
                self.assertNotIn("Condition", res, name)
                continue
            cond = res["Condition"]
            param = self.t["Conditions"][cond]["Fn::Not"][0]["Fn::Equals"][0]["Ref"]
            self.assertEqual(str(params[param]["Default"]), "0", name)
            self.assertIn("benchmarks.md", params[param]["Description"], name)

    def test_every_alarm_is_one_datapoint_of_a_range_that_survives_5_minutes_of_delay(self):
        # 1 out of N: any epoch spacing; N + 2 periods cover a datapoint
        # that reaches CloudWatch up to 5 minutes late (docs/replay.md).
        for name, res in self.alarms().items():
            props = res["Properties"]
            self.assertEqual(props["EvaluationPeriods"], {"Fn::If": ["HighResolution", 36, 6]}, name)
            self.assertEqual(props["Period"], {"Fn::If": ["HighResolution", 10, 60]}, name)
            self.assertEqual(props["DatapointsToAlarm"], 1, name)
            for period, n in [(10, 36), (60, 6)]:
                self.assertGreaterEqual((n + 2) * period, 300 + 2 * period)

    def test_each_child_notifies_the_alarm_topic_and_ignores_missing_data(self):
        # Per-child notifications (docs/deploy.md): every rule that fires
        # reaches the formatter, even while another rule holds the composite
        # in ALARM; the composite has no action.
        topic = {"Fn::If": ["CreateTopic", {"Ref": "AlarmTopic"}, {"Fn::Sub": "${TeamTopicArn}-alarms"}]}
        for name, res in self.alarms().items():
            props = res["Properties"]
            self.assertEqual(props["AlarmActions"], [topic], name)
            self.assertEqual(props["OKActions"], {"Fn::If": ["NotifyOk", [topic], {"Ref": "AWS::NoValue"}]}, name)
            self.assertEqual(props["TreatMissingData"], "ignore", name)
        composite = self.t["Resources"]["OverfittingCompositeAlarm"]["Properties"]
        self.assertNotIn("AlarmActions", composite)
        self.assertNotIn("OKActions", composite)

    def test_one_subscription_per_address_and_an_empty_list_is_rejected(self):
        each = self.t["Resources"]["Fn::ForEach::TeamSubscriptions"]
        self.assertEqual(each[1], {"Ref": "TeamEmails"})
        body = each[2]["Subscription&{Email}"]
        self.assertEqual(body["Properties"]["Protocol"], "email")
        assertion = self.t["Rules"]["TeamEmailsNotEmpty"]["Assertions"][0]["Assert"]
        self.assertEqual(assertion, {"Fn::Not": [{"Fn::Contains": [{"Ref": "TeamEmails"}, ""]}]})
        # Empty only as the default (with TeamTopicArn); the rule above
        # refuses it when this stack subscribes the team itself.
        self.assertEqual(self.t["Rules"]["TeamEmailsNotEmpty"]["RuleCondition"],
                         {"Fn::Equals": [{"Ref": "TeamTopicArn"}, ""]})
        pattern = re.compile(self.t["Parameters"]["TeamEmails"]["AllowedPattern"])
        self.assertTrue(pattern.match("a.b+team@example.co.uk"))
        self.assertTrue(pattern.match(""))
        for bad in ["not-an-address", "a@b", "a@b.c,d@e.f", " a@b.c"]:
            self.assertFalse(pattern.match(bad), bad)

    def test_topic_policy_lets_only_this_stacks_alarm_publish(self):
        # Not alarm:* (issue #12): any alarm of the account could publish, and
        # auto-stop acts on what arrives on the topic.
        main_arn = {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}"
                               ":alarm:${TrainingJobName}-fitwatch-*"}
        fleet = ["FleetOverfittingAlarm", "FleetDivergenceAlarm"]
        for path, condition, alarms in [
                (MAIN, {"ArnLike": {"aws:SourceArn": main_arn}},
                 ["OverfittingVerdictAlarm", "RiseStreakAlarm", "GeneralizationGapAlarm",
                  "NoImprovementAlarm", "DivergenceAlarm"]),
                (FLEET, {"ArnEquals": {"aws:SourceArn": [{"Fn::GetAtt": [a, "Arn"]} for a in fleet]}}, fleet)]:
            t = cfn.load(path)
            stmts = t["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            self.assertEqual(len(stmts), 1, path)
            stmt = stmts[0]
            self.assertEqual(stmt["Principal"], {"Service": "cloudwatch.amazonaws.com"})
            self.assertEqual(stmt["Action"], "sns:Publish")
            self.assertEqual(stmt["Resource"], {"Ref": "AlarmTopic"})
            self.assertEqual(stmt["Condition"], dict(condition, StringEquals={"aws:SourceAccount": {"Ref": "AWS::AccountId"}}))
            # ...and they are the only alarms of the template with actions.
            with_actions = [k for k, v in t["Resources"].items() if isinstance(v, dict)
                            and "AlarmActions" in (v.get("Properties") or {})]
            self.assertEqual(with_actions, alarms, path)
            # The team's topic takes only the formatter's publish.
            team = t["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            self.assertEqual(team, [{"Sid": "TheFormatterPublishes", "Effect": "Allow",
                                     "Principal": {"AWS": {"Fn::GetAtt": ["FormatterRole", "Arn"]}},
                                     "Action": "sns:Publish", "Resource": {"Ref": "AlertTopic"}}])

    def test_optional_topic_key_lets_cloudwatch_alarms_use_it(self):
        for path in [MAIN, FLEET]:
            t = cfn.load(path)
            key = t["Resources"]["TopicKey"]
            self.assertEqual(key["Condition"], "CreateKmsKey")
            # A key only for a topic of the stack's own (not with TeamTopicArn).
            create = t["Conditions"]["CreateKmsKey"]
            self.assertIn(create, [{"Fn::Equals": [{"Ref": "CreateTopicKey"}, "true"]},
                                   {"Fn::And": [{"Condition": "CreateTopic"},
                                                {"Fn::Equals": [{"Ref": "CreateTopicKey"}, "true"]}]}])
            self.assertEqual(t["Parameters"]["CreateTopicKey"]["Default"], "false")
            self.assertTrue(key["Properties"]["EnableKeyRotation"])
            cw = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                  if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
            self.assertEqual(len(cw), 1, path)
            self.assertEqual(sorted(cw[0]["Action"]), ["kms:Decrypt", "kms:GenerateDataKey*"])
            topic = t["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"]
            self.assertEqual(topic["Fn::If"][:2], ["CreateKmsKey", {"Fn::GetAtt": ["TopicKey", "Arn"]}])

    def test_replay_reads_the_template_with_the_stack_key(self):
        for path, params in [(MAIN, ["--param", "TrainingJobName=j"]), (FLEET, [])]:
            r = subprocess.run([os.environ["FITWATCH_CLI"], "replay", "--tail", "0", "--template", path,
                                "--param", "TeamEmails=a@example.com", "--param", "CreateTopicKey=true"] + params,
                               input="", capture_output=True, text=True, timeout=60)
            # The template was read (exit 2 otherwise); an empty log is exit 4
            # since replay says when no alarm could read anything (issue #13).
            self.assertEqual(r.returncode, 4, r.stderr)
            self.assertIn("the log is empty", r.stderr)


if __name__ == "__main__":
    unittest.main()
