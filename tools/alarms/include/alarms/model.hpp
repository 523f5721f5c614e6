// The CloudWatch alarm model: what a template declares (metric alarms,
// composite alarms, SNS topics and their email subscriptions) once its
// CloudFormation has been evaluated, and the three alarm states. Plain data:
// no YAML, no I/O. The cfn room builds it; the engine evaluates it.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fitwatch::alarms {

enum class alarm_state { ok, alarm, insufficient_data };
/// "OK", "ALARM", "INSUFFICIENT_DATA".
std::string to_string(alarm_state s);

/// One query of a metric-math alarm (the Metrics property).
struct metric_query {
  std::string id;
  std::string expression;  ///< empty for a MetricStat query
  std::string label;
  bool return_data = true;
  // MetricStat:
  std::string ns, metric_name, statistic;
  std::vector<std::pair<std::string, std::string>> dimensions;
  int period = 0;
};

/// What metric and composite alarms have in common.
struct alarm_common {
  std::string logical_id, name, arn, description;
  bool actions_enabled = true;
  std::vector<std::string> ok_actions, alarm_actions, insufficient_data_actions;
};

struct metric_alarm : alarm_common {
  // Single metric (empty metric_name for metric math):
  std::string ns, metric_name, statistic;  ///< statistic: Maximum, Average, ..., p90
  std::vector<std::pair<std::string, std::string>> dimensions;
  std::optional<std::string> unit;
  std::vector<metric_query> metrics;  ///< metric math / Metrics Insights
  int period = 60;
  int evaluation_periods = 1;
  int datapoints_to_alarm = 1;
  double threshold = 0;
  std::string comparison;
  std::string treat_missing_data = "missing";
};

struct composite_alarm : alarm_common {
  std::string rule;
};

/// A Lambda function subscribed to a topic (AWS::Lambda::Function with
/// inline Code.ZipFile): what `fitwatch replay` runs when the topic is
/// notified (the fitwatch formatter publishes the team's email).
struct lambda_function {
  std::string logical_id, runtime, handler;  ///< handler: "index.handler"
  std::string code;                          ///< Code.ZipFile; empty: not inline
  std::vector<std::pair<std::string, std::string>> environment;
};

struct topic {
  std::string logical_id, arn, display_name;
  std::vector<std::string> emails;         ///< email subscriptions, in template order
  std::vector<lambda_function> functions;  ///< lambda subscriptions to functions of the template
};

struct template_model {
  std::string region, account_id, stack_name;
  /// When the alarms were last configured (AlarmConfigurationUpdatedTimestamp):
  /// replay sets the first datapoint's time; 0 = unknown.
  std::int64_t configured_ms = 0;
  std::vector<metric_alarm> alarms;
  std::vector<composite_alarm> composites;
  std::vector<topic> topics;
  std::vector<std::string> skipped;  ///< resources not evaluated (type: id)
};

}  // namespace fitwatch::alarms
