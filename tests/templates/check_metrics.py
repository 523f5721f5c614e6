"""Every metric the templates watch must be one the fitwatch library emits:
same namespace (the MetricNamespace parameter's default), same name, exactly
the same dimension set. CloudWatch matches namespace + name + the full
dimension set; an alarm that differs in any of them watches a metric that
never receives data and sits in INSUFFICIENT_DATA forever."""
import json
import re
import subprocess

import cfn


def schema(cli):
    out = subprocess.run([cli, "schema"], check=True, capture_output=True, text=True).stdout
    s = json.loads(out)
    return {
        "namespace": s["Namespace"],
        "metrics": {m["Name"] for m in s["Metrics"]},
        "dimension_sets": [sorted(d) for d in s["Dimensions"]],
    }


def _is_namespace_ref(value):
    return value == {"Ref": "MetricNamespace"}


def _dims_ok(names, sch):
    return sorted(names) in sch["dimension_sets"]


def _resources(template):
    """Resources, with Fn::ForEach bodies expanded over literal lists."""
    for key, value in (template.get("Resources") or {}).items():
        if key.startswith("Fn::ForEach::"):
            ident, collection, body = value
            items = collection if isinstance(collection, list) else ["<param>"]
            for item in items:
                for name, resource in body.items():
                    text = json.dumps(resource).replace("${%s}" % ident, str(item))
                    text = text.replace('{"Ref": "%s"}' % ident, json.dumps(item))
                    yield name.replace("${%s}" % ident, str(item)), json.loads(text)
        else:
            yield key, value


def _sub_text(value, defaults):
    """The text of a Fn::Sub, parameters replaced by their defaults."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        text, extra = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
        for k in extra:
            # a quoted variable is an ARN; an unquoted one a number or an
            # optional JSON fragment (an extra rule's ARN or annotation)
            quoted = '"${%s}"' % k in text
            text = text.replace("${%s}" % k, "0" if k == "Period" else "arn:x" if quoted else "")
        for k, v in defaults.items():
            text = text.replace("${%s}" % k, str(v))
        return re.sub(r"\$\{AWS::[A-Za-z]+\}", "x", text)
    return value if isinstance(value, str) else None


def check(template, sch):
    """Returns a list of problems (empty when the template is consistent)."""
    problems = []
    params = template.get("Parameters") or {}
    defaults = {k: v.get("Default", "job") for k, v in params.items()}
    defaults.setdefault("TrainingJobName", "job")
    if "MetricNamespace" in params and params["MetricNamespace"].get("Default") != sch["namespace"]:
        problems.append("MetricNamespace default %r is not the library's %r"
                        % (params["MetricNamespace"].get("Default"), sch["namespace"]))

    def check_metric(where, namespace, name, dims):
        if not _is_namespace_ref(namespace) and namespace != sch["namespace"]:
            problems.append("%s: namespace %r is not the MetricNamespace parameter" % (where, namespace))
        if name not in sch["metrics"]:
            problems.append("%s: metric %r is not one fitwatch emits" % (where, name))
        if not _dims_ok(dims, sch):
            problems.append("%s: dimensions %s differ from fitwatch's %s" % (where, sorted(dims), sch["dimension_sets"]))

    def check_insights(where, expr):
        found = re.search(r'SELECT\s+\w+\((\w+)\)\s+FROM\s+SCHEMA\("([^"]+)"((?:,\s*\w+)*)\)', expr)
        if found:
            dims = [d.strip() for d in found.group(3).split(",") if d.strip()]
            check_metric(where, found.group(2), found.group(1), dims)
        elif "SELECT" in expr:
            problems.append("%s: cannot read the Metrics Insights query %r" % (where, expr))

    for name, res in _resources(template):
        kind, props = res.get("Type"), res.get("Properties") or {}
        if kind == "AWS::CloudWatch::Alarm":
            if "MetricName" in props:
                check_metric(name, props.get("Namespace"), props["MetricName"],
                             [d["Name"] for d in props.get("Dimensions") or []])
            for q in props.get("Metrics") or []:
                if "MetricStat" in q:
                    m = q["MetricStat"]["Metric"]
                    check_metric(name, m.get("Namespace"), m.get("MetricName"),
                                 [d["Name"] for d in m.get("Dimensions") or []])
                check_insights(name, _sub_text(q.get("Expression"), defaults) or "")
        elif kind == "AWS::CloudWatch::Dashboard":
            body = json.loads(_sub_text(props["DashboardBody"], defaults))
            for widget in body["widgets"]:
                for m in (widget.get("properties") or {}).get("metrics") or []:
                    names = [x for x in m if not isinstance(x, dict)]
                    if names:
                        check_metric(name, names[0], names[1], names[2::2])
                    for options in (x for x in m if isinstance(x, dict)):
                        check_insights(name, options.get("expression") or "")
        elif kind == "AWS::Logs::MetricFilter":
            for t in props.get("MetricTransformations") or []:
                check_metric(name, t.get("MetricNamespace"), t.get("MetricName"),
                             [d["Key"] for d in t.get("Dimensions") or []])
    return problems
