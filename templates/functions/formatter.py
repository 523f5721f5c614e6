# fitwatch formatter: turns a CloudWatch alarm notification into an email a
# team member can act on, and publishes it to the team topic. Runs in Lambda
# (python3.12, standard library + boto3); `fitwatch replay` runs this same
# text with a fake boto3 built from the log. The source of truth is
# templates/functions/formatter.py; templates/functions/inline.py copies it
# into every template (a test fails when they drift).
import calendar
import json
import os
import re
import time

import boto3

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
SUBJECT_MAX = 99  # SNS: "less than 100 characters", no control characters
_clients = {}

RULES = {  # metric: (what happened, what to do)
    "OverfittingDetected": ("is overfitting", "Stop the job (auto-stop does it if deployed) and keep the checkpoint of its best epoch."),
    "TrainingDiverged": ("diverged", "Stop the job: it will not recover. Lower the learning rate or check the data."),
    "ValidationLossRiseStreak": ("has a rising validation loss", "Compare the training and validation losses; stop the job if the gap keeps growing."),
    "GeneralizationGapRatio": ("has a large generalization gap", "Consider more regularisation or more data."),
    "EvaluationsSinceBest": ("stopped improving", "Further epochs are unlikely to help: stop the job and keep its best epoch."),
}
COLUMNS = ["Epoch", "TrainLoss", "ValidationLoss", "BestEpoch", "OverfittingDetected"]


def client(name):
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _clean(text):
    return re.sub(r"[\x00-\x1f\x7f]", "?", str(text))


def _epoch_ms(iso):
    """StateChangeTime (2021-02-15T14:57:14.419+0000) in ms since 1970."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?", iso or "")
    if not m:
        return int(time.time() * 1000)
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    frac = int(((m.group(7) or "0") + "00")[:3])
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000 + frac


def what(alarm):
    """(job, metric, comparison, threshold) the alarm watches, from the
    message only (metric alarm dimensions, or a contributor's attributes)."""
    trigger = alarm.get("Trigger") or {}
    job = None
    for d in trigger.get("Dimensions") or []:
        if d.get("name") == "TrainingJobName":
            job = d.get("value")
    job = (alarm.get("AlarmContributorAttributes") or {}).get("TrainingJobName", job)
    metric = trigger.get("MetricName")
    for q in trigger.get("Metrics") or []:
        m = re.search(r"\b(?:MAX|MIN|AVG|SUM)\((\w+)\)", q.get("Expression") or "")
        metric = metric or (m.group(1) if m else None)
    return job, metric, trigger.get("ComparisonOperator", ""), trigger.get("Threshold")


def breaches(value, comparison, threshold):
    if not isinstance(value, (int, float)) or threshold is None:
        return False
    return {"GreaterThanOrEqualToThreshold": value >= threshold, "GreaterThanThreshold": value > threshold,
            "LessThanThreshold": value < threshold, "LessThanOrEqualToThreshold": value <= threshold}.get(comparison, False)


def read_lines(job, end_ms, lookback_ms):
    """The job's EMF lines up to end_ms: one FilterLogEvents query (paged)."""
    lines, token = [], None
    for _ in range(5):
        kwargs = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": job + "/",
                  "startTime": max(0, end_ms - lookback_ms), "endTime": end_ms + 1000,
                  "filterPattern": '{ $.TrainingJobName = "%s" }' % job}
        if token:
            kwargs["nextToken"] = token
        page = client("logs").filter_log_events(**kwargs)
        for event in page.get("events", []):
            try:
                line = json.loads(event["message"])
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("TrainingJobName") == job:
                line["_ts"] = event.get("timestamp", 0)
                line["_stream"] = event.get("logStreamName", "")
                lines.append(line)
        token = page.get("nextToken")
        if not token:
            break
    lines.sort(key=lambda x: x["_ts"])
    return lines


def _num(v):
    return "%.4g" % v if isinstance(v, (int, float)) else "-"


def subject_for(job, happened, epoch, best):
    tail = " %s" % happened
    if isinstance(epoch, int) and not isinstance(epoch, bool):
        tail += " at epoch %d" % epoch + (" (best %d)" % best if isinstance(best, int) else "")
    room = SUBJECT_MAX - len("fitwatch: ") - len(tail)
    job = _clean(job)
    if len(job) > room:  # tuning jobs differ at the end: keep both ends
        head = (room - 3) // 2
        job = job[:head] + "..." + job[len(job) - (room - 3 - head):]
    return _clean("fitwatch: " + job + tail)[:SUBJECT_MAX]


def links(alarm, job, region, stream):
    console = "https://%s.console.aws.amazon.com" % region
    name = alarm.get("AlarmName", "")
    fleet = re.match(r"fitwatch-fleet-(?:overfitting|divergence)-(.+)$", name)
    board = "fitwatch-fleet-" + fleet.group(1) if fleet else job + "-fitwatch"
    out = ["Dashboard: %s/cloudwatch/home?region=%s#dashboards/dashboard/%s" % (console, region, board),
           "The job: %s/sagemaker/home?region=%s#/jobs/%s" % (console, region, job)]
    where = "%s/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s" % (
        console, region, LOG_GROUP.replace("/", "$252F"))
    if stream:
        where += "/log-events/" + stream.replace("/", "$252F")
    out.append("Log lines: " + where)
    return out


def render(alarm, lines):
    """(subject, body) of the email for one alarm message and the job's log
    lines (None: unreadable, the alarm's own content is used), or None when
    the message is not sent to the team (a duplicate or not a change)."""
    new, old = alarm.get("NewStateValue"), alarm.get("OldStateValue")
    contributor = "AlarmContributorId" in alarm
    job, metric, comparison, threshold = what(alarm)
    multi = any("GROUP BY" in (q.get("Expression") or "") for q in (alarm.get("Trigger") or {}).get("Metrics") or [])
    if multi and not contributor:
        return None  # the fleet alarm's own transition: each job has its contributor's email
    if new == "OK" and old != "ALARM":
        return None  # leaving INSUFFICIENT_DATA (or a first evaluation): not a recovery
    region = (alarm.get("AlarmArn") or "::::").split(":")[3] or os.environ.get("AWS_REGION", "us-east-1")
    happened, todo = RULES.get(metric, ("raised alarm " + str(alarm.get("AlarmName")), "See the alarm below."))
    job = job or str(alarm.get("AlarmName"))
    body = []
    epoch = best = None
    stream = ""
    if new == "OK":
        subject = subject_for(job, "is back to OK (%s)" % (metric or "alarm"), None, None)
        body.append("The alarm %s of training job %s is OK again." % (alarm.get("AlarmName"), job))
    elif lines:
        # The evaluation where the alarm's signal last crossed its threshold.
        hit = [i for i, x in enumerate(lines) if breaches(x.get(metric), comparison, threshold)]
        at = hit[-1] if hit else len(lines) - 1
        while hit and at > 0 and breaches(lines[at - 1].get(metric), comparison, threshold):
            at -= 1
        line = lines[at]
        epoch, best = line.get("Epoch"), line.get("BestEpoch")
        stream = line.get("_stream", "")
        best_line = next((x for x in reversed(lines[:at + 1]) if x.get("Epoch") == best), {})
        reason = next((x.get("OverfittingReason") for x in reversed(lines[:at + 1]) if x.get("OverfittingReason")), "")
        subject = subject_for(job, happened, epoch, best)
        body.append("Training job %s %s%s." % (job, happened, "" if epoch is None else " at epoch %s" % epoch))
        if reason:
            body.append("Why (fitwatch's detector): %s" % reason)
        if epoch is not None:
            body.append("Epoch %s: training loss %s, validation loss %s." % (
                epoch, _num(line.get("TrainLoss")), _num(line.get("ValidationLoss"))))
        if best is not None:
            body.append("Best epoch %s: training loss %s, validation loss %s." % (
                best, _num(best_line.get("TrainLoss")), _num(best_line.get("ValidationLoss"))))
        body += ["", "What to do: " + todo, "", "Last evaluations:"]
        cols = COLUMNS + ([metric] if metric and metric not in COLUMNS else [])
        rows = [cols] + [[_num(x.get(c)) if c != "Epoch" and c != "BestEpoch" else str(x.get(c, "-"))
                          for c in cols] for x in lines[max(0, at - 7):at + 1]]
        widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
        body += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in rows]
    else:
        subject = subject_for(job, happened, None, None)
        body.append("Training job %s %s. (Its log lines could not be read: the alarm's own content follows.)" % (job, happened))
        body += ["", "What to do: " + todo]
    body += [""] + links(alarm, job, region, stream) + [
        "", "The alarm: %s, %s -> %s at %s" % (alarm.get("AlarmName"), old, new, alarm.get("StateChangeTime")),
        "Reason: %s" % alarm.get("NewStateReason"), "", str(alarm.get("AlarmDescription") or "")]
    return subject, "\n".join(body).rstrip() + "\n"


def handler(event, context):
    topic = os.environ["TEAM_TOPIC_ARN"]
    lookback = int(os.environ.get("LOOKBACK_SECONDS", "86400")) * 1000
    sent = []
    for record in event.get("Records", []):
        raw = record["Sns"]["Message"]
        try:
            alarm = json.loads(raw)
            assert isinstance(alarm, dict) and "AlarmName" in alarm
        except (ValueError, AssertionError):
            out = ("fitwatch: alarm notification", raw)  # not an alarm: forwarded as it came
        else:
            job = what(alarm)[0]
            lines = None
            if job and alarm.get("NewStateValue") == "ALARM":
                try:
                    lines = read_lines(job, _epoch_ms(alarm.get("StateChangeTime")), lookback)
                except Exception as e:  # never lose the notification for want of details
                    print("fitwatch formatter: cannot read the log lines of %s: %r" % (job, e))
            try:
                out = render(alarm, lines)
            except Exception as e:
                print("fitwatch formatter: cannot render: %r" % (e,))
                out = (subject_for(job or str(alarm.get("AlarmName")), "raised an alarm", None, None), raw)
        if out:
            client("sns").publish(TopicArn=topic, Subject=out[0], Message=out[1])
            sent.append(out[0])
    return {"sent": sent}
