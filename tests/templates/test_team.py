"""The team stack (templates/team.yaml, issue #13): one topic, one email
subscription per member, deployed once; job stacks given its ARN
(TeamTopicArn) create no topic of their own and their alarms email the
team; and the email a member receives says what fired and links to the
job's dashboard, whose Logs Insights table shows the rule, the epoch, the
losses and the best epoch.

The replay tests run `fitwatch replay` with both stacks (--template twice)
on logs written by `fitwatch emit`, and parse the .eml files it renders."""
import email
import email.policy
import fnmatch
import glob
import json
import os
import re
import subprocess
import tempfile
import unittest

import cfn
import test_dashboard

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TEAM = os.path.join(ROOT, "templates", "team.yaml")
MAIN = os.path.join(ROOT, "templates", "overfitting-alerts.yaml")
FLEET = os.path.join(ROOT, "templates", "fleet-alerts.yaml")
AUTO_STOP = os.path.join(ROOT, "templates", "auto-stop.yaml")
CLI = os.environ["FITWATCH_CLI"]
REGION, ACCOUNT = "us-east-1", "123456789012"
TEAM_ARN = "arn:aws:sns:%s:%s:fitwatch-team" % (REGION, ACCOUNT)
MEMBERS = ["alice@example.com", "bob@example.org", "carol@example.net"]


class Conditions:
    """A template's Conditions with these parameters (defaults otherwise)."""

    def __init__(self, template, **overrides):
        self.params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
        self.params.update({k: str(v) for k, v in overrides.items()})
        self.defs = template.get("Conditions", {})

    def holds(self, name):
        return self.eval(self.defs[name])

    def eval(self, node):
        if not isinstance(node, dict):
            return node
        (fn, arg), = node.items()
        if fn == "Ref":
            return self.params[arg]
        if fn == "Condition":
            return self.holds(arg)
        if fn == "Fn::Equals":
            return str(self.eval(arg[0])) == str(self.eval(arg[1]))
        if fn == "Fn::Not":
            return not self.eval(arg[0])
        if fn == "Fn::And":
            return all(self.eval(a) for a in arg)
        if fn == "Fn::Or":
            return any(self.eval(a) for a in arg)
        raise AssertionError("unexpected " + fn)


def resources(template, **params):
    """{logical id or ForEach body id: type} of the resources that exist."""
    cond = Conditions(template, **params)
    out = {}
    for rid, res in template["Resources"].items():
        if rid.startswith("Fn::ForEach::"):
            rid, res = next(iter(res[2].items()))
        if "Condition" not in res or cond.holds(res["Condition"]):
            out[rid] = res["Type"]
    return out


def alarm_names(template, **subs):
    """The AlarmName of every alarm of a template, its ${...} substituted."""
    names = []
    for res in template["Resources"].values():
        if isinstance(res, dict) and res.get("Type", "").startswith("AWS::CloudWatch::") \
                and "Alarm" in res["Type"]:
            name = res["Properties"]["AlarmName"]
            name = name["Fn::Sub"] if isinstance(name, dict) else name
            names.append(re.sub(r"\$\{([\w:]+)\}", lambda m: subs[m.group(1)], name))
    return names


def emit(job, t0=1750000000000):
    """A demo-like overfitting run through `fitwatch emit`: the validation
    loss falls to its best at epoch 8, then climbs; epochs 30 s apart."""
    rows = []
    for epoch in range(1, 21):
        train = 1.0 / epoch
        val = 0.9 - 0.07 * epoch if epoch <= 8 else 0.34 + 0.04 * (epoch - 8)
        rows.append(json.dumps({"epoch": epoch, "train_loss": train, "val_loss": val,
                                "timestamp": t0 + epoch * 30000}))
    r = subprocess.run([CLI, "emit", "--job-name", job], input="\n".join(rows) + "\n",
                       capture_output=True, text=True, timeout=60, check=True)
    return r.stdout


def replay(log, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(log)
    try:
        return subprocess.run([CLI, "replay", "--format", "json"] + list(args) + [f.name],
                              capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)


def transitions(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def read_eml(path):
    """The parsed message and its body with LF line ends."""
    with open(path, "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    return msg, msg.get_content().replace("\r\n", "\n")


class TeamTemplate(unittest.TestCase):
    t = cfn.load(TEAM)

    def test_topic_name_is_a_parameter_so_its_arn_is_known(self):
        topic = self.t["Resources"]["TeamTopic"]
        self.assertEqual(topic["Type"], "AWS::SNS::Topic")
        self.assertEqual(topic["Properties"]["TopicName"], {"Ref": "TopicName"})
        self.assertEqual(self.t["Parameters"]["TopicName"]["Default"], "fitwatch-team")
        self.assertEqual(self.t["Outputs"]["TopicArn"]["Value"], {"Ref": "TeamTopic"})
        self.assertIn("Export", self.t["Outputs"]["TopicArn"])

    def test_one_subscription_per_member_and_an_empty_list_is_rejected(self):
        each = self.t["Resources"]["Fn::ForEach::TeamSubscriptions"]
        self.assertEqual(each[1], {"Ref": "TeamEmails"})
        body = each[2]["Subscription&{Email}"]
        self.assertEqual(body["Properties"], {"Protocol": "email", "Endpoint": {"Ref": "Email"},
                                              "TopicArn": {"Ref": "TeamTopic"}})
        assertion = self.t["Rules"]["TeamEmailsNotEmpty"]["Assertions"][0]["Assert"]
        self.assertEqual(assertion, {"Fn::Not": [{"Fn::Contains": [{"Ref": "TeamEmails"}, ""]}]})
        # No value, an empty list, an empty entry: refused (the pattern
        # refuses an empty entry first; the rule guards the same).
        for missing in [[], ["--param", "TeamEmails="], ["--param", "TeamEmails=a@example.com,"]]:
            r = subprocess.run([CLI, "replay", "--template", TEAM, "--tail", "0"] + missing, input="",
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, missing)
            self.assertIn("parameter TeamEmails: ", r.stderr)

    def test_topic_policy_lets_only_fitwatch_alarms_of_this_account_and_region_publish(self):
        team = self.t["Resources"]["TeamTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual([s["Principal"] for s in team], [{"AWS": {"Fn::GetAtt": ["FormatterRole", "Arn"]}}])
        stmts = self.t["Resources"]["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        self.assertEqual(len(stmts), 1)
        stmt = stmts[0]
        self.assertEqual(stmt["Principal"], {"Service": "cloudwatch.amazonaws.com"})
        self.assertEqual(stmt["Action"], "sns:Publish")
        self.assertEqual(stmt["Condition"]["StringEquals"], {"aws:SourceAccount": {"Ref": "AWS::AccountId"}})
        subs = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        patterns = [re.sub(r"\$\{([\w:]+)\}", lambda m: subs[m.group(1)], p["Fn::Sub"])
                    for p in stmt["Condition"]["ArnLike"]["aws:SourceArn"]]

        def allowed(name, region=REGION, account=ACCOUNT):
            arn = "arn:aws:cloudwatch:%s:%s:alarm:%s" % (region, account, name)
            return any(fnmatch.fnmatchcase(arn, p) for p in patterns)

        # Every alarm name of the job and fleet templates, whatever the job or stack.
        job = alarm_names(cfn.load(MAIN), TrainingJobName="my-job-7")
        fleet = alarm_names(cfn.load(FLEET), **{"AWS::StackName": "fitwatch-fleet"})
        self.assertIn("my-job-7-fitwatch-alert", job)
        self.assertTrue(fleet)
        for name in job + fleet:
            self.assertTrue(allowed(name), name)
        # Not another alarm of the account, nor fitwatch's of another Region or account.
        for name in ["billing-alarm", "fitwatch", "my-job-fitwatch", "team-fitwatch"]:
            self.assertFalse(allowed(name), name)
        self.assertFalse(allowed("my-job-7-fitwatch-alert", region="eu-west-1"))
        self.assertFalse(allowed("my-job-7-fitwatch-alert", account="999999999999"))

    def test_chat_channels_exist_only_when_their_ids_are_given(self):
        base = resources(self.t)
        self.assertEqual(sorted(t for t in base.values() if "Chatbot" in t), [])
        self.assertNotIn("ChatbotRole", base)
        slack = resources(self.t, SlackWorkspaceId="T0123ABCD", SlackChannelId="C0123ABCD")
        self.assertEqual(slack["SlackChannelConfiguration"], "AWS::Chatbot::SlackChannelConfiguration")
        self.assertEqual(slack["ChatbotRole"], "AWS::IAM::Role")
        self.assertNotIn("TeamsChannelConfiguration", slack)
        self.assertNotIn("SlackChannelConfiguration", resources(self.t, SlackWorkspaceId="T0123ABCD"))
        uuid = "0b6b7ac6-6d2b-4c0e-9a4e-1b2c3d4e5f60"
        teams = resources(self.t, TeamsTenantId=uuid, TeamsTeamId=uuid,
                          TeamsChannelId="19%3aabc%40thread.tacv2")
        self.assertEqual(teams["TeamsChannelConfiguration"],
                         "AWS::Chatbot::MicrosoftTeamsChannelConfiguration")
        self.assertIn("ChatbotRole", teams)
        self.assertNotIn("TeamsChannelConfiguration", resources(self.t, TeamsTenantId=uuid, TeamsTeamId=uuid))
        for rid in ["SlackChannelConfiguration", "TeamsChannelConfiguration"]:
            props = self.t["Resources"][rid]["Properties"]
            # CloudWatch's own alarm messages, which Chatbot renders.
            self.assertEqual(props["SnsTopicArns"], [{"Ref": "AlarmTopic"}])
            self.assertEqual(props["IamRoleArn"], {"Fn::GetAtt": ["ChatbotRole", "Arn"]})
            # Without guardrails Chatbot applies AdministratorAccess.
            self.assertEqual(props["GuardrailPolicies"],
                             [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchReadOnlyAccess"}])
        trust = self.t["Resources"]["ChatbotRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual([s["Principal"] for s in trust], [{"Service": "chatbot.amazonaws.com"}])

    def test_parameter_patterns_accept_real_ids_and_reject_others(self):
        params = self.t["Parameters"]

        def ok(name, value):
            return re.match(params[name]["AllowedPattern"], value) is not None

        self.assertTrue(ok("TopicName", "fitwatch-team"))
        self.assertFalse(ok("TopicName", "x" * 121))
        self.assertFalse(ok("TopicName", "team.fifo"))
        self.assertTrue(ok("TeamsChannelId", "19%3ab2a8aa6f1dd94dbd8d0f06a7cd7cde2d%40thread.tacv2"))
        self.assertFalse(ok("TeamsChannelId", "19:abc@thread.tacv2"))
        self.assertFalse(ok("SlackChannelId", "C0123-ABCD"))
        for name in ["SlackWorkspaceId", "SlackChannelId", "TeamsTenantId", "TeamsTeamId", "TeamsChannelId"]:
            self.assertTrue(ok(name, ""), name)


class JobStackWithTeamTopic(unittest.TestCase):
    t = cfn.load(MAIN)

    def test_team_topic_arn_parameter_is_the_shared_interface(self):
        p = self.t["Parameters"]["TeamTopicArn"]
        self.assertEqual((p["Type"], p["Default"]), ("String", ""))
        self.assertEqual(p["AllowedPattern"],
                         "^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")
        self.assertEqual(self.t["Conditions"]["CreateTopic"], {"Fn::Equals": [{"Ref": "TeamTopicArn"}, ""]})
        self.assertEqual(self.t["Parameters"]["TeamEmails"]["Default"], "")
        self.assertEqual(self.t["Rules"]["TeamEmailsNotEmpty"]["RuleCondition"],
                         {"Fn::Equals": [{"Ref": "TeamTopicArn"}, ""]})
        # The alarms notify the team stack's alarm topic, named after the
        # team topic (team.yaml: TopicName-alarms), or this stack's own.
        alarm_topic = {"Fn::If": ["CreateTopic", {"Ref": "AlarmTopic"}, {"Fn::Sub": "${TeamTopicArn}-alarms"}]}
        for res in self.t["Resources"].values():
            props = res.get("Properties", {}) if isinstance(res, dict) else {}
            if "AlarmActions" in props:
                self.assertEqual(props["AlarmActions"], [alarm_topic])
                self.assertEqual(props["OKActions"]["Fn::If"][1], [alarm_topic])
        team_or_own = {"Fn::If": ["CreateTopic", {"Ref": "AlertTopic"}, {"Ref": "TeamTopicArn"}]}
        self.assertEqual(self.t["Outputs"]["TopicArn"]["Value"], team_or_own)
        team = cfn.load(TEAM)["Resources"]["AlarmTopic"]["Properties"]
        self.assertEqual(team["TopicName"], {"Fn::Sub": "${TopicName}-alarms"})

    def test_key_options_with_a_team_topic_are_refused_not_ignored(self):
        # As the fleet template: the key would belong to a topic not created.
        for key in ["CreateTopicKey=true", "KmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/k"]:
            r = replay("", "--template", MAIN, "--param", "TrainingJobName=j",
                       "--param", "TeamTopicArn=" + TEAM_ARN, "--param", key)
            self.assertEqual(r.returncode, 2, key)
            self.assertIn("CreateTopicKey and KmsKeyArn apply to this stack's own topic", r.stderr)
        # Without a team topic the key options stand (an empty log: exit 4, not 2).
        r = replay("", "--template", MAIN, "--param", "TrainingJobName=j",
                   "--param", "TeamEmails=a@example.com", "--param", "CreateTopicKey=true")
        self.assertEqual(r.returncode, 4, r.stderr)

    def test_with_team_topic_no_sns_resource_without_it_as_before(self):
        with_team = resources(self.t, TrainingJobName="j", TeamTopicArn=TEAM_ARN, CreateTopicKey="true")
        self.assertEqual([r for r, t in with_team.items()
                          if t.startswith(("AWS::SNS::", "AWS::KMS::", "AWS::Lambda::", "AWS::IAM::"))], [])
        own = resources(self.t, TrainingJobName="j", TeamEmails="a@example.com", CreateTopicKey="true")
        self.assertEqual(own["AlertTopic"], "AWS::SNS::Topic")
        self.assertEqual(own["AlertTopicPolicy"], "AWS::SNS::TopicPolicy")
        self.assertEqual(own["Subscription&{Email}"], "AWS::SNS::Subscription")
        self.assertEqual(own["TopicKey"], "AWS::KMS::Key")
        # Every other resource is the same either way.
        self.assertEqual(sorted(set(own) - set(with_team)),
                         ["AlarmTopic", "AlarmTopicPolicy", "AlertTopic", "AlertTopicPolicy",
                          "FormatterFailures", "FormatterFunction", "FormatterInvokePermission",
                          "FormatterLogGroup", "FormatterRole", "FormatterSubscription",
                          "Subscription&{Email}", "TopicKey"])

    def test_auto_stop_subscribes_to_the_topic_it_is_given(self):
        t = cfn.load(AUTO_STOP)
        self.assertEqual(t["Resources"]["TopicSubscription"]["Properties"]["TopicArn"], {"Ref": "TopicArn"})
        self.assertTrue(re.match(t["Parameters"]["TopicArn"]["AllowedPattern"], TEAM_ARN))
        self.assertIn("team.yaml", t["Parameters"]["TopicArn"]["Description"])


class ReplayWithTheTeamStack(unittest.TestCase):
    def team_replay(self, job, outbox, *extra):
        return replay(emit(job), "--template", TEAM, "--template", MAIN, "--outbox", outbox,
                      "--param", "TeamEmails=" + ",".join(MEMBERS), "--param", "TrainingJobName=" + job,
                      "--param", "TeamTopicArn=" + TEAM_ARN, *extra)

    def test_the_team_topic_reused_by_two_job_stacks_emails_every_member_for_each_job(self):
        # alarm -> the team stack's alarm topic -> its formatter -> the team
        # topic: one email per member, naming the job, its epoch and best epoch.
        for job in ["job-a", "job-b"]:
            with self.subTest(job=job), tempfile.TemporaryDirectory() as outbox:
                r = self.team_replay(job, outbox)
                self.assertEqual(r.returncode, 0, r.stderr)
                alerts = [t for t in transitions(r.stdout)
                          if t["alarm"] == job + "-fitwatch-overfitting" and t["new_state"] == "ALARM"]
                self.assertEqual(len(alerts), 1, r.stdout)
                self.assertEqual(sorted(e["to"] for e in alerts[0]["emails"]), sorted(MEMBERS))
                emails = [t for t in transitions(r.stdout) if t["emails"]]
                self.assertEqual(emails, alerts)  # no other transition emails anyone
                self.assertEqual(alerts[0]["sns_message"]["AlarmActions"], [TEAM_ARN + "-alarms"])
                for e in alerts[0]["emails"]:
                    msg, body = read_eml(e["file"])
                    self.assertEqual(msg["To"], e["to"])
                    self.assertRegex(msg["Subject"], r"^fitwatch: %s is overfitting at epoch \d+ \(best \d+\)$" % job)
                    # The team topic: the subscription the footer unsubscribes.
                    self.assertIn("SubscriptionArn=%s:" % TEAM_ARN, body)
                    self.assertIn("Training job %s is overfitting at epoch" % job, body)

    def test_the_job_stack_alone_creates_no_topic_or_subscription(self):
        # Given TeamTopicArn and even TeamEmails, the job stack subscribes
        # nobody: without the team stack its alarm fires and emails no one.
        with tempfile.TemporaryDirectory() as outbox:
            r = replay(emit("job-a"), "--template", MAIN, "--outbox", outbox,
                       "--param", "TeamEmails=" + ",".join(MEMBERS), "--param", "TrainingJobName=job-a",
                       "--param", "TeamTopicArn=" + TEAM_ARN)
            self.assertEqual(r.returncode, 0, r.stderr)
            alerts = [t for t in transitions(r.stdout)
                      if t["alarm"] == "job-a-fitwatch-overfitting" and t["new_state"] == "ALARM"]
            self.assertEqual(len(alerts), 1)
            self.assertEqual(alerts[0]["emails"], [])
            self.assertEqual(os.listdir(outbox), [])

    def test_parameters_are_shared_and_those_no_template_declares_are_refused(self):
        with tempfile.TemporaryDirectory() as outbox:
            r = self.team_replay("job-a", outbox, "--param", "Bogus=1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--param Bogus=1: no template declares Bogus", r.stderr)

    def test_two_stacks_with_the_same_alarm_names_are_refused(self):
        r = replay("", "--template", MAIN, "--template", MAIN, "--param", "TrainingJobName=j",
                   "--param", "TeamEmails=a@example.com")
        self.assertEqual(r.returncode, 2)
        self.assertIn("alarm j-fitwatch-", r.stderr)
        self.assertIn("is also declared by an earlier --template (stacks overfitting-alerts)", r.stderr)

    def test_a_template_error_names_its_file(self):
        r = replay("", "--template", TEAM, "--template", MAIN, "--param", "TrainingJobName=j")
        self.assertEqual(r.returncode, 2)
        self.assertIn(TEAM + ": parameter TeamEmails: no value", r.stderr)


def dashboard_name(job):
    name = cfn.load(MAIN)["Resources"]["Dashboard"]["Properties"]["DashboardName"]["Fn::Sub"]
    return name.replace("${TrainingJobName}", job)


class EmailLinks(unittest.TestCase):
    """Part 3 of issue #13: in one click from the email, the rule, the epoch,
    the losses and the best epoch."""

    def test_the_email_links_the_jobs_dashboard_and_keeps_the_descriptions_lines(self):
        job, region = "fashion-mnist-7", "eu-west-1"
        with tempfile.TemporaryDirectory() as outbox:
            r = replay(emit(job), "--template", MAIN, "--outbox", outbox, "--region", region,
                       "--param", "TrainingJobName=" + job, "--param", "TeamEmails=a@example.com")
            self.assertEqual(r.returncode, 0, r.stderr)
            files = glob.glob(os.path.join(outbox, "*-%s-fitwatch-overfitting-ALARM-*.eml" % job))
            self.assertEqual(len(files), 1, os.listdir(outbox))
            _, body = read_eml(files[0])
        url = ("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards/dashboard/%s"
               % (region, region, dashboard_name(job)))
        self.assertIn("Dashboard: " + url + "\n", body)
        self.assertIn("The job: https://%s.console.aws.amazon.com/sagemaker/home?region=%s#/jobs/%s\n"
                      % (region, region, job), body)
        self.assertIn("\nWhat to do: ", body)
        # The alarm's description, verbatim with its line breaks, at the end.
        desc = cfn.load(MAIN)["Resources"]["OverfittingVerdictAlarm"]["Properties"]["AlarmDescription"]["Fn::Sub"]
        expected = desc.replace("${TrainingJobName}", job).replace("${AWS::Region}", region)
        self.assertIn("\n" + expected + "\n", body)

    def test_the_dashboards_logs_insights_table_shows_rule_epoch_losses_and_best_epoch(self):
        job = "fashion-mnist-7"
        body = test_dashboard.body(TrainingJobName=job)
        log = [w["properties"] for w in body["widgets"] if w["type"] == "log"]
        self.assertEqual(len(log), 1)
        query = log[0]["query"]
        fields = [f.strip() for f in re.search(r"\| fields ([^|]+)\|", query).group(1).split(",")]
        for wanted in ["OverfittingReason", "Epoch", "TrainLoss", "ValidationLoss", "BestEpoch"]:
            self.assertIn(wanted, fields)
        self.assertIn("filter TrainingJobName = '%s'" % job, query)
        # Every field the table shows is on the log line that carries the reason.
        lines = [json.loads(line) for line in emit(job).splitlines()]
        fired = [e for e in lines if e.get("OverfittingReason")]
        self.assertTrue(fired)
        for f in fields:
            if not f.startswith("@"):
                self.assertIn(f, fired[0], f)

    def test_every_description_fits_1024_characters_with_the_longest_names(self):
        # TrainingJobName is at most 63 characters; every extra rule on; a
        # long Region name and thresholds. The template reader refuses a
        # description over 1024 characters (as CloudWatch does), so exit 0
        # means every alarm's fits.
        job = "j" * 63
        args = ["--template", MAIN, "--region", "ap-southeast-5", "--param", "TrainingJobName=" + job,
                "--param", "TeamEmails=a@example.com", "--param", "RiseStreakThreshold=1234567",
                "--param", "GapRatioThreshold=0.123456789", "--param", "NoImprovementThreshold=1234567",
                "--param", "NotifyOnRecovery=true", "--tail", "0"]
        r = replay("", *args)
        # An empty log exits 4 ("nothing happened"); a template error is 2.
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("the log is empty", r.stderr)
        # ...and the check can fail: 300 more characters in the job name's place.
        with tempfile.TemporaryDirectory() as d:
            longer = os.path.join(d, "t.yaml")
            text = cfn.read(MAIN).replace("TrainingJobName: ${TrainingJobName}\n",
                                          "TrainingJobName: ${TrainingJobName}" + "x" * 300 + "\n")
            self.assertNotEqual(text, cfn.read(MAIN))
            with open(longer, "w") as f:
                f.write(text)
            r = replay("", *(["--template", longer] + args[2:]))
        self.assertEqual(r.returncode, 2)
        self.assertIn("CloudWatch allows at most 1024", r.stderr)


if __name__ == "__main__":
    unittest.main()
