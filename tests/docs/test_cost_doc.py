"""docs/deploy.md's "Cost" section stays true to the templates.

The per-stack counts are read from the templates by `fitwatch schema
--template` (conditions evaluated for the parameters each row names); the
custom metrics a job publishes and the size of a line from `fitwatch emit`;
the monthly sums are recomputed here from those counts, the unit prices of
the doc's price table and the example (a team of 5, 20 jobs a month of 10
hours each, one evaluation a minute). A template change that adds or drops
an alarm, a dashboard, a key or a function fails this test until the tables
are regenerated:

    FITWATCH_CLI=build/fitwatch python3 tests/docs/test_cost_doc.py --print

prints both tables as the doc holds them.
"""
import json
import os
import re
import subprocess
import sys
import unittest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DOC = os.path.join(ROOT, "docs", "deploy.md")
TEAM_TOPIC = "arn:aws:sns:us-east-1:123456789012:fitwatch-team"
FIVE = "alice@example.com,bob@example.com,carol@example.com,dan@example.com,erin@example.com"

# The stacks of the counts table: its first column -> template and parameters.
STACKS = {
    "team (5 addresses)": ("team.yaml", {"TeamEmails": FIVE}),
    "team (5 addresses, CreateTopicKey=true)": ("team.yaml", {"TeamEmails": FIVE, "CreateTopicKey": "true"}),
    "job (TeamTopicArn)": ("overfitting-alerts.yaml", {"TrainingJobName": "my-job", "TeamTopicArn": TEAM_TOPIC}),
    "job (own topic, 5 addresses)": ("overfitting-alerts.yaml", {"TrainingJobName": "my-job", "TeamEmails": FIVE}),
    "fleet (TeamTopicArn)": ("fleet-alerts.yaml", {"TeamTopicArn": TEAM_TOPIC}),
    "auto-stop": ("auto-stop.yaml", {"TopicArn": TEAM_TOPIC, "TrainingJobNamePrefix": "fitwatch-"}),
}
COLUMNS = ["high-resolution alarm metrics", "standard alarm metrics", "Metrics Insights alarms",
           "composite alarms", "dashboards", "KMS keys", "Lambda functions", "SNS topics",
           "email subscriptions"]

# The example.
MEMBERS, JOBS, JOB_HOURS, EVALS_PER_HOUR = 5, 20, 10, 60
KEEP_HOURS = 0.25          # scripts/job-stack.sh run: the stack outlives the job by --keep (15m)
INSIGHTS_WINDOW_HOURS = 3  # a Metrics Insights alarm sees the last 3 hours of data
EMAILS_PER_JOB = 1         # one ALARM email per job (per member)
MONTH_HOURS = 730


def cli():
    path = os.environ.get("FITWATCH_CLI")
    if not path:
        raise unittest.SkipTest("FITWATCH_CLI is not set (ctest sets it)")
    return path


def counts(name):
    template, params = STACKS[name]
    args = [cli(), "schema", "--template", os.path.join(ROOT, "templates", template)]
    for k, v in params.items():
        args += ["--param", "%s=%s" % (k, v)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(" ".join(args) + ": " + r.stderr)
    s = json.loads(r.stdout)
    return {
        "high-resolution alarm metrics": s["alarm_metrics"]["high_resolution"],
        "standard alarm metrics": s["alarm_metrics"]["standard_resolution"],
        "Metrics Insights alarms": s["metric_alarms"]["metrics_insights"],
        "composite alarms": s["composite_alarms"],
        "dashboards": s["dashboards"],
        "KMS keys": s["kms_keys"],
        "Lambda functions": s["lambda_functions"],
        "SNS topics": s["sns_topics"],
        "email subscriptions": s["email_subscriptions"],
    }


def job_line():
    """(custom metrics, bytes) of an evaluation line as the README's Python
    example writes it (losses and accuracies), through `fitwatch emit`."""
    csv = "epoch,train_loss,val_loss,train_acc,val_acc\n" + "".join(
        "%d,%.3f,%.3f,0.8,0.7\n" % (e, 1.0 / e, 0.5 + 0.01 * e) for e in range(1, 61))
    r = subprocess.run([cli(), "emit", "--job-name", "fitwatch-demo-1"], input=csv,
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    lines = r.stdout.splitlines()
    names = set()
    for line in lines:
        for d in json.loads(line)["_aws"]["CloudWatchMetrics"]:
            for dims in d["Dimensions"]:
                for m in d["Metrics"]:
                    names.add((d["Namespace"], tuple(dims), m["Name"]))
    return len(names), sum(len(l.encode()) + 1 for l in lines) / len(lines)


def section(text):
    start = text.index("\n## Cost")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def tables(text):
    """Every markdown table of `text`: a list of (header, rows)."""
    out, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if current is None:
                current = (cells, [])
                out.append(current)
            elif not set("".join(cells)) <= set("-: "):
                current[1].append(cells)
        else:
            current = None
    return out


def table_with(text, first_header):
    for header, rows in tables(section(text)):
        if header[0] == first_header:
            return header, rows
    raise AssertionError("docs/deploy.md, Cost: no table whose first column is '%s'" % first_header)


def prices(text):
    """The price table: item -> USD (the first number of the price cell)."""
    header, rows = table_with(text, "item")
    out = {}
    for row in rows:
        cell = row[header.index("price (us-east-1)")].replace(",", "")
        m = re.search(r"([0-9]+(?:\.[0-9]+)?)", cell)
        out[row[0]] = float(m.group(1))
    return out


def monthly(p, c, metrics_per_job, line_bytes):
    """USD a month of each setup, line by line: {line: (per-job, fleet)}."""
    job, team, fleet = c["job (TeamTopicArn)"], c["team (5 addresses)"], c["fleet (TeamTopicArn)"]
    stack_hours = JOBS * (JOB_HOURS + KEEP_HOURS)  # job stacks, created and deleted around each job
    per = lambda price, n, hours: price * n * hours / MONTH_HOURS  # noqa: E731 (prorated hourly)
    evaluations = JOBS * JOB_HOURS * EVALS_PER_HOUR
    emails = JOBS * EMAILS_PER_JOB * MEMBERS
    # A Metrics Insights alarm analyzes one metric per job with data in its window.
    insights_metric_hours = JOBS * (JOB_HOURS + INSIGHTS_WINDOW_HOURS)
    lines = {
        "high-resolution alarms": (
            per(p["high-resolution alarm metric"], job["high-resolution alarm metrics"], stack_hours),
            per(p["high-resolution alarm metric"], fleet["high-resolution alarm metrics"], MONTH_HOURS)),
        "standard alarms": (
            per(p["standard alarm metric"], job["standard alarm metrics"], stack_hours),
            per(p["standard alarm metric"], fleet["standard alarm metrics"], MONTH_HOURS)),
        "Metrics Insights alarms": (
            0.0, per(p["Metrics Insights alarm, per metric analyzed"], fleet["Metrics Insights alarms"],
                     insights_metric_hours)),
        "composite alarms": (per(p["composite alarm"], job["composite alarms"], stack_hours),
                             per(p["composite alarm"], fleet["composite alarms"], MONTH_HOURS)),
        "dashboards": (per(p["dashboard"], job["dashboards"], stack_hours),
                       per(p["dashboard"], fleet["dashboards"], MONTH_HOURS)),
        "custom metrics (EMF)": (per(p["custom metric"], metrics_per_job, JOBS * JOB_HOURS),) * 2,
        "log ingestion": (evaluations * line_bytes / 1e9 * p["log ingestion, per GB"],) * 2,
        "KMS keys": (per(p["KMS key"], team["KMS keys"] + job["KMS keys"], MONTH_HOURS),
                     per(p["KMS key"], team["KMS keys"] + fleet["KMS keys"], MONTH_HOURS)),
        "Lambda": (0.0, 0.0),
        "SNS email": (emails * p["SNS email, per 100,000"] / 100000,) * 2,
    }
    total = tuple(sum(v[i] for v in lines.values()) for i in (0, 1))
    lines["total"] = total
    return lines


def usd(x):
    return "%.2f" % x


def cost_rows(text):
    p = prices(text)
    c = {name: counts(name) for name in STACKS}
    n, size = job_line()
    return monthly(p, c, n, size), n, size


class CostDoc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DOC, encoding="utf-8") as f:
            cls.text = f.read()

    def test_the_counts_are_the_templates(self):
        header, rows = table_with(self.text, "stack")
        self.assertEqual(header[1:], COLUMNS)
        self.assertEqual([r[0] for r in rows], list(STACKS))
        for row in rows:
            with self.subTest(stack=row[0]):
                c = counts(row[0])
                self.assertEqual([int(x) for x in row[1:]], [c[k] for k in COLUMNS])

    def test_the_monthly_sums_follow_from_the_counts_and_prices(self):
        expected, _, _ = cost_rows(self.text)
        header, rows = table_with(self.text, "USD a month")
        self.assertEqual([r[0] for r in rows], ["**" + k + "**" if k == "total" else k for k in expected])
        for row in rows:
            key = row[0].strip("*")
            with self.subTest(line=key):
                self.assertEqual([c.strip("*") for c in row[1:3]], [usd(x) for x in expected[key]])

    def test_the_job_s_metrics_and_line_size(self):
        n, size = job_line()
        flat = re.sub(r"\s+", " ", section(self.text))
        self.assertIn("A job publishes %d custom metrics while it runs" % n, flat)
        m = re.search(r"about ([0-9.]+) KB a line", flat)
        self.assertTrue(m, "the Cost section states the size of a line ('about N KB a line')")
        self.assertAlmostEqual(float(m.group(1)) * 1000, size, delta=0.1 * size)

    def test_a_forgotten_job_stack(self):
        p, job = prices(self.text), counts("job (TeamTopicArn)")
        month = (p["high-resolution alarm metric"] * job["high-resolution alarm metrics"]
                 + p["standard alarm metric"] * job["standard alarm metrics"]
                 + p["composite alarm"] * job["composite alarms"] + p["dashboard"] * job["dashboards"])
        flat = re.sub(r"\s+", " ", section(self.text))
        m = re.search(r"A forgotten job stack\*\* costs .*?: ([0-9.]+) USD a month each\. Twenty jobs "
                      r"a month whose stacks are never deleted add ([0-9.]+) USD a month, every month; "
                      r"a year of them, ([0-9.,]+) USD a month", flat)
        self.assertTrue(m, "the Cost section prices a forgotten job stack")
        self.assertEqual(m.group(1), usd(month))
        self.assertEqual(float(m.group(2)), round(JOBS * month, 2))
        self.assertEqual(float(m.group(3).replace(",", "")), round(12 * JOBS * month, 2))

    def test_every_price_is_cited_with_the_date_read(self):
        header, rows = table_with(self.text, "item")
        for row in rows:
            with self.subTest(item=row[0]):
                source = row[header.index("source")]
                self.assertRegex(source, r"https://(aws\.amazon\.com|docs\.aws\.amazon\.com)/")
                self.assertRegex(row[header.index("read")], r"^\d{4}-\d{2}-\d{2}")
                self.assertIn(row[header.index("confirmed on the AWS page")].split()[0].strip(","),
                              ("yes", "no"))

    def test_the_check_catches_a_wrong_count(self):
        header, rows = table_with(self.text, "stack")
        row = list(rows[0])
        c = counts(row[0])
        row[1 + COLUMNS.index("SNS topics")] = str(c["SNS topics"] + 1)
        self.assertNotEqual([int(x) for x in row[1:]], [c[k] for k in COLUMNS])


def print_tables():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    print("| stack | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name in STACKS:
        c = counts(name)
        print("| %s | %s |" % (name, " | ".join(str(c[k]) for k in COLUMNS)))
    rows, n, size = cost_rows(text)
    print("\n%d custom metrics per job, about %.1f KB a line\n" % (n, size / 1000))
    print("| USD a month | per-job stacks (team + job) | fleet stack (team + fleet) |")
    print("|---|---|---|")
    for k, (a, b) in rows.items():
        if k == "total":
            print("| **total** | **%s** | **%s** |" % (usd(a), usd(b)))
        else:
            print("| %s | %s | %s |" % (k, usd(a), usd(b)))


if __name__ == "__main__":
    if sys.argv[1:] == ["--print"]:
        print_tables()
    else:
        unittest.main()
