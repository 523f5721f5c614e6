// `fitwatch schema [NAMESPACE] [--monitor NAME] [--mode min|max]`: the
// metrics the library emits, as JSON (the one source of truth the
// templates' alarms are checked against). With --template, the billable
// resources of one stack instead (docs/deploy.md, "Cost").
#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cfn/stacks.hpp"
#include "commands.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"
#include "fitwatch/settings.hpp"

namespace fitwatch::cli {
namespace {

constexpr const char* schema_usage =
    R"(usage: fitwatch schema [NAMESPACE] [--monitor NAME] [--mode min|max]

Prints, as JSON, the metrics fitwatch emits (names, units, storage
resolution), their dimension set and properties, in NAMESPACE (FitWatch):
what the alarms of a template must watch. --monitor and --mode are the
settings monitor and mode (docs/settings.md): a monitored metric other than
ValidationLoss is written under its own name and its best under Best<NAME>;
the other metrics keep their names ("Monitor" in the output says so).

       fitwatch schema --template FILE [--param KEY=VALUE]... [--region REGION]

Prints, as JSON, what one stack of the template holds that AWS bills, with
the template's conditions evaluated for the parameters given: metric alarms
by kind (standard resolution, high resolution: a period under 60 s, Metrics
Insights: a SELECT query) and the metrics they read, composite alarms,
dashboards, KMS keys, Lambda functions, SNS topics, email subscriptions,
log metric filters, and every resource type counted.
)";

bool is_insights(const alarms::metric_alarm& a) {
  for (const auto& q : a.metrics) {
    std::string e = q.expression;
    std::transform(e.begin(), e.end(), e.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (e.find("SELECT") != std::string::npos) return true;
  }
  return false;
}

// The metric alarm's period: its own, or the shortest of its queries'.
int alarm_period(const alarms::metric_alarm& a) {
  int p = a.metric_name.empty() ? 0 : a.period;
  for (const auto& q : a.metrics) {
    if (q.period > 0 && (p == 0 || q.period < p)) p = q.period;
  }
  return p == 0 ? a.period : p;
}

// The metrics an alarm reads (AWS bills standard and high-resolution alarms
// per alarm metric): one for a single metric, one per MetricStat of metric
// math. A Metrics Insights alarm reads what its query finds when it runs.
std::size_t alarm_metrics(const alarms::metric_alarm& a) {
  if (!a.metric_name.empty()) return 1;
  return static_cast<std::size_t>(
      std::count_if(a.metrics.begin(), a.metrics.end(),
                    [](const alarms::metric_query& q) { return q.expression.empty(); }));
}

nlohmann::ordered_json stack_resources(const std::string& path, const alarms::template_model& m) {
  std::map<std::string, std::size_t> types;
  std::size_t standard = 0, high = 0, insights = 0, standard_metrics = 0, high_metrics = 0;
  for (const auto& a : m.alarms) {
    ++types["AWS::CloudWatch::Alarm"];
    if (is_insights(a)) {
      ++insights;
    } else if (alarm_period(a) < 60) {
      ++high;
      high_metrics += alarm_metrics(a);
    } else {
      ++standard;
      standard_metrics += alarm_metrics(a);
    }
  }
  types["AWS::CloudWatch::CompositeAlarm"] += m.composites.size();
  std::size_t emails = 0;
  for (const auto& t : m.topics) emails += t.emails.size();
  types["AWS::SNS::Topic"] += m.topics.size();
  if (emails > 0) types["AWS::SNS::Subscription (email)"] += emails;
  for (const auto& s : m.skipped) ++types[s.substr(0, s.find(": "))];
  const auto count = [&](const char* type) {
    const auto it = types.find(type);
    return it == types.end() ? std::size_t{0} : it->second;
  };
  for (auto it = types.begin(); it != types.end();) it = it->second == 0 ? types.erase(it) : ++it;
  return {{"template", path},
          {"metric_alarms",
           {{"standard_resolution", standard},
            {"high_resolution", high},
            {"metrics_insights", insights}}},
          {"alarm_metrics",
           {{"standard_resolution", standard_metrics}, {"high_resolution", high_metrics}}},
          {"composite_alarms", m.composites.size()},
          {"dashboards", count("AWS::CloudWatch::Dashboard")},
          {"kms_keys", count("AWS::KMS::Key")},
          {"lambda_functions", count("AWS::Lambda::Function")},
          {"sns_topics", m.topics.size()},
          {"email_subscriptions", emails},
          {"log_metric_filters", count("AWS::Logs::MetricFilter")},
          {"resources", types}};
}

}  // namespace

int schema_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  settings s;
  std::string namespace_name(default_namespace);
  bool has_namespace = false, has_detector_flag = false;
  std::string template_path;
  cfn::template_options stack;
  bool stack_flag = false;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "--help" || a == "-h") {
        out << schema_usage;
        return 0;
      }
      const auto next = [&]() -> std::string {
        if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
        return args[++i];
      };
      if (a == "--monitor" || a == "--mode") {
        const auto v = next();
        apply_setting(s, a.substr(2), v, a);
        has_detector_flag = true;
      } else if (a == "--template") {
        if (!template_path.empty()) throw std::invalid_argument("one --template at most");
        template_path = next();
      } else if (a == "--param") {
        const auto kv = next();
        const auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--param needs KEY=VALUE");
        stack.parameters[kv.substr(0, eq)] = kv.substr(eq + 1);
        stack_flag = true;
      } else if (a == "--region") {
        stack.region = next();
        stack_flag = true;
      } else if (!a.empty() && a[0] == '-') {
        throw std::invalid_argument("unknown option " + a);
      } else if (has_namespace) {
        throw std::invalid_argument("one NAMESPACE at most");
      } else {
        namespace_name = a;
        has_namespace = true;
      }
    }
    if (template_path.empty()) {
      if (stack_flag) throw std::invalid_argument("--param and --region need --template");
      out << schema_json(namespace_name, s.detector) << "\n";
      return 0;
    }
    if (has_namespace || has_detector_flag)
      throw std::invalid_argument("--template takes no NAMESPACE, --monitor or --mode");
    out << stack_resources(template_path, cfn::read_stacks({template_path}, stack)).dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.rfind("fitwatch: ", 0) == 0) what.erase(0, 10);
    err << "fitwatch schema: " << what << "\n" << schema_usage;
    return 2;
  }
}

}  // namespace fitwatch::cli
