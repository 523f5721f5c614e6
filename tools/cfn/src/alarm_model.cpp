// The alarm model of an evaluated template: metric and composite alarms
// (checked against PutMetricAlarm's limits), SNS topics and their email
// subscriptions, and the values that go into email headers.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <sstream>

#include "cfn/decimal.hpp"
#include "evaluator.hpp"

namespace fitwatch::cfn {

using nlohmann::json;

namespace detail {

alarms::template_model evaluator::run() {
  alarms::template_model m;
  m.region = o_.region;
  m.account_id = o_.account_id;
  m.stack_name = o_.stack_name;
  for (const auto& [id, res] : resources_.items()) {
    if (!res.is_object() || !res.contains("Type"))
      throw template_error("resource " + id + ": no Type");
    if (!condition_holds(id, res)) continue;
    const auto type = res["Type"].get<std::string>();
    if (type == "AWS::CloudWatch::Alarm") {
      m.alarms.push_back(metric(id, res));
    } else if (type == "AWS::CloudWatch::CompositeAlarm") {
      m.composites.push_back(composite(id, res));
    } else if (type == "AWS::SNS::Topic") {
      alarms::topic tp;
      tp.logical_id = id;
      tp.arn = ref(id, id);
      const auto props = properties(id, res);
      tp.display_name = string_or(props, "DisplayName", "");
      m.topics.push_back(tp);
    } else if (type != "AWS::SNS::Subscription") {
      // (A Lambda function is run through its topic's subscription, below,
      // and listed here like every resource that is not a model of its own:
      // `fitwatch schema --template` counts it.)
      m.skipped.push_back(type + ": " + id);
    }
  }
  // Email subscriptions, attached to their topics.
  for (const auto& [id, res] : resources_.items()) {
    if (res["Type"] != "AWS::SNS::Subscription" || !condition_holds(id, res)) continue;
    const auto props = properties(id, res);
    if (string_or(props, "Protocol", "") == "lambda") {
      lambda_subscription(m, id, props);
      continue;
    }
    if (string_or(props, "Protocol", "") != "email") {
      m.skipped.push_back("AWS::SNS::Subscription (not email): " + id);
      continue;
    }
    const auto arn = string_or(props, "TopicArn", "");
    bool found = false;
    for (auto& tp : m.topics) {
      if (tp.arn == arn) {
        tp.emails.push_back(string_or(props, "Endpoint", ""));
        found = true;
      }
    }
    if (!found)
      throw template_error("resource " + id + ": TopicArn is not a topic of this template");
  }
  check_header_values(m);
  return m;
}

// A lambda subscription of a topic of this template to a function of this
// template with inline code (Endpoint: !GetAtt F.Arn, which the evaluator
// leaves as "F.Arn"): the topic runs the function. Any other (a topic of
// another stack, as auto-stop's) is skipped, as before.
void evaluator::lambda_subscription(alarms::template_model& m, const std::string& id,
                                    const json& props) {
  const auto arn = string_or(props, "TopicArn", "");
  const auto endpoint = string_or(props, "Endpoint", "");
  const auto fn = endpoint.substr(0, endpoint.find('.'));
  alarms::topic* tp = nullptr;
  for (auto& t : m.topics)
    if (t.arn == arn) tp = &t;
  if (tp == nullptr || !resources_.contains(fn) ||
      resources_[fn].value("Type", std::string()) != "AWS::Lambda::Function" ||
      !condition_holds(fn, resources_[fn])) {
    m.skipped.push_back("AWS::SNS::Subscription (lambda, not run): " + id);
    return;
  }
  const auto p = properties(fn, resources_[fn]);
  alarms::lambda_function f;
  f.logical_id = fn;
  f.runtime = string_or(p, "Runtime", "");
  f.handler = string_or(p, "Handler", "");
  f.code = string_or(p.value("Code", json::object()), "ZipFile", "");
  const json vars = p.value("Environment", json::object()).value("Variables", json::object());
  for (const auto& [k, v] : vars.items()) f.environment.emplace_back(k, text(v, fn));
  tp->functions.push_back(std::move(f));
}

// Alarm names, topic display names and addresses go into email headers
// and SMTP commands: a CR or LF there injects a Bcc: header or a RCPT TO
// command. Refused whatever the template's AllowedPattern says.
void evaluator::check_header_values(const alarms::template_model& m) const {
  const auto check = [](const std::string& value, const std::string& what) {
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        throw template_error(what +
                             " contains a control character (CR, LF, tab...); it "
                             "would go into email headers");
      }
    }
  };
  for (const char c : o_.region) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
      throw template_error("region '" + o_.region + "': letters, digits and hyphens only");
    }
  }
  for (const auto& a : m.alarms) check(a.name, "resource " + a.logical_id + ": the alarm name");
  for (const auto& a : m.composites) check(a.name, "resource " + a.logical_id + ": the alarm name");
  for (const auto& tp : m.topics) {
    check(tp.display_name, "resource " + tp.logical_id + ": DisplayName");
    for (const auto& to : tp.emails) {
      check(to, "an email subscription of " + tp.logical_id);
      if (to.find_first_of(" <>") != std::string::npos) {
        throw template_error("an email subscription of " + tp.logical_id + ": '" + to +
                             "' is not a plain address");
      }
    }
  }
}

std::string evaluator::string_or(const json& o, const char* key, const std::string& fallback) {
  if (!o.contains(key)) return fallback;
  return o[key].is_string() ? o[key].get<std::string>() : o[key].dump();
}

// A number property: a JSON number or a decimal string (a Ref to a Number
// parameter), finite.
double evaluator::number(const json& o, const char* key, double fallback, const std::string& id) {
  if (!o.contains(key)) return fallback;
  const auto& v = o[key];
  const auto d = v.is_number() ? std::optional<double>(v.get<double>())
                               : decimal_value(v.is_string() ? v.get<std::string>() : "");
  if (!d || !std::isfinite(*d))
    throw template_error("resource " + id + ": " + key + " is not a number: " + v.dump());
  return *d;
}

// A whole-number property (Period, EvaluationPeriods...), at least 1.
int evaluator::count(const json& o, const char* key, int fallback, const std::string& id) {
  const double v = number(o, key, fallback, id);
  if (v != std::floor(v) || v < 1 || v > 1e9) {
    std::ostringstream shown;
    shown << v;
    throw template_error("resource " + id + ": " + key +
                         " must be a whole number of at least 1, not " + shown.str());
  }
  return static_cast<int>(v);
}

std::vector<std::string> evaluator::strings(const json& o, const char* key) {
  std::vector<std::string> out;
  if (!o.contains(key)) return out;
  for (const auto& v : o[key]) out.push_back(v.get<std::string>());
  return out;
}

void evaluator::common(const std::string& id, const json& p, alarms::alarm_common& a) {
  a.logical_id = id;
  a.name = alarm_name(id);
  a.arn = alarm_arn(a.name);
  a.description = string_or(p, "AlarmDescription", "");
  // PutMetricAlarm and PutCompositeAlarm: AlarmDescription is 0-1024
  // characters (UTF-8 code points: bytes that do not continue one).
  if (const auto n = std::count_if(a.description.begin(), a.description.end(),
                                   [](char c) { return (c & 0xC0) != 0x80; });
      n > 1024) {
    throw template_error("resource " + id + ": AlarmDescription is " + std::to_string(n) +
                         " characters; CloudWatch allows at most 1024");
  }
  a.actions_enabled =
      !p.contains("ActionsEnabled") || p["ActionsEnabled"] == true || p["ActionsEnabled"] == "true";
  a.ok_actions = strings(p, "OKActions");
  a.alarm_actions = strings(p, "AlarmActions");
  a.insufficient_data_actions = strings(p, "InsufficientDataActions");
}

std::vector<std::pair<std::string, std::string>> evaluator::dimensions(const json& p) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& d : p.value("Dimensions", json::array())) {
    out.emplace_back(d.at("Name").get<std::string>(), text(d.at("Value"), "dimension"));
  }
  return out;
}

alarms::metric_alarm evaluator::metric(const std::string& id, const json& res) {
  const auto p = properties(id, res);
  alarms::metric_alarm a;
  common(id, p, a);
  a.ns = string_or(p, "Namespace", "");
  a.metric_name = string_or(p, "MetricName", "");
  a.statistic = p.contains("ExtendedStatistic") ? string_or(p, "ExtendedStatistic", "")
                                                : string_or(p, "Statistic", "");
  a.dimensions = dimensions(p);
  if (p.contains("Unit")) a.unit = string_or(p, "Unit", "");
  if (p.contains("Period")) a.period = count(p, "Period", 0, id);
  a.evaluation_periods = count(p, "EvaluationPeriods", 1, id);
  a.datapoints_to_alarm = count(p, "DatapointsToAlarm", a.evaluation_periods, id);
  a.threshold = number(p, "Threshold", 0, id);
  a.comparison = string_or(p, "ComparisonOperator", "");
  a.treat_missing_data = string_or(p, "TreatMissingData", "missing");
  for (const auto& q : p.value("Metrics", json::array())) {
    alarms::metric_query m;
    m.id = string_or(q, "Id", "");
    m.expression = string_or(q, "Expression", "");
    m.label = string_or(q, "Label", "");
    m.return_data =
        !q.contains("ReturnData") || q["ReturnData"] == true || q["ReturnData"] == "true";
    if (q.contains("Period")) m.period = count(q, "Period", 0, id);
    if (q.contains("MetricStat")) {
      const auto& s = q.at("MetricStat");
      const json metric = s.value("Metric", json::object());
      m.ns = string_or(metric, "Namespace", "");
      m.metric_name = string_or(metric, "MetricName", "");
      m.dimensions = dimensions(metric);
      m.statistic = string_or(s, "Stat", "");
      if (s.contains("Period")) m.period = count(s, "Period", 0, id);
    }
    a.metrics.push_back(m);
    if (a.period == 0 && m.return_data) a.period = m.period;
  }
  if (a.metric_name.empty() && a.metrics.empty()) {
    throw template_error("resource " + id + ": neither MetricName nor Metrics");
  }
  if (a.period <= 0) throw template_error("resource " + id + ": no Period");
  if (a.period < 60 && a.period != 10 && a.period != 20 && a.period != 30) {
    throw template_error("resource " + id + ": Period " + std::to_string(a.period) +
                         " (CloudWatch allows 10, 20, 30 or a multiple of 60)");
  }
  if (a.period >= 60 && a.period % 60 != 0) {
    throw template_error("resource " + id + ": Period " + std::to_string(a.period) +
                         " is not a multiple of 60");
  }
  check_evaluation_range(id, a);
  return a;
}

// PutMetricAlarm's limits
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html):
// DatapointsToAlarm is at most EvaluationPeriods; "Period multiplied by
// EvaluationPeriods can't be more than 604,800 seconds. For alarms with a
// period of less than one hour (3,600 seconds), the total evaluation period
// can't be longer than one day (86,400 seconds)." (Unchecked, a huge
// EvaluationPeriods made replay run for hours.)
void evaluator::check_evaluation_range(const std::string& id, const alarms::metric_alarm& a) {
  if (a.datapoints_to_alarm > a.evaluation_periods) {
    throw template_error("resource " + id + ": DatapointsToAlarm " +
                         std::to_string(a.datapoints_to_alarm) +
                         " is more than EvaluationPeriods " + std::to_string(a.evaluation_periods));
  }
  const std::int64_t range = std::int64_t{a.period} * a.evaluation_periods;
  const std::int64_t limit = a.period < 3600 ? 86400 : 604800;
  if (range > limit) {
    throw template_error("resource " + id +
                         ": Period x EvaluationPeriods = " + std::to_string(a.period) + " x " +
                         std::to_string(a.evaluation_periods) + " = " + std::to_string(range) +
                         " s; CloudWatch allows at most " + std::to_string(limit) + " s" +
                         (a.period < 3600 ? " for periods under an hour" : ""));
  }
}

alarms::composite_alarm evaluator::composite(const std::string& id, const json& res) {
  const auto p = properties(id, res);
  alarms::composite_alarm c;
  common(id, p, c);
  c.rule = string_or(p, "AlarmRule", "");
  if (c.rule.empty()) throw template_error("resource " + id + ": no AlarmRule");
  return c;
}

}  // namespace detail

alarms::template_model evaluate_template(const nlohmann::json& t, const template_options& options) {
  try {
    detail::check_depth(t);
    return detail::evaluator(t, options).run();
  } catch (const template_error&) {
    throw;
  } catch (const std::regex_error& e) {
    throw template_error(
        std::string("template: an AllowedPattern is not a valid regular expression: ") + e.what());
  } catch (const std::exception& e) {
    // A value of an unexpected type or shape (e.g. Properties that is a list).
    throw template_error(std::string("template: unexpected structure: ") + e.what());
  }
}

}  // namespace fitwatch::cfn
