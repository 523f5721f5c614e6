// Reading a CloudFormation template (YAML with short-form tags, or JSON) and
// evaluating the parts that decide when fitwatch's alarms fire and whom they
// email: parameters (defaults, overrides, AllowedValues/AllowedPattern),
// Rules assertions, Conditions, Fn::ForEach, and in the alarm, topic and
// subscription resources Ref, Fn::Sub, Fn::Join, Fn::Select, Fn::Split,
// Fn::If, Fn::GetAtt (alarm Arn, topic TopicArn/TopicName). Anything else in
// those resources is an error naming the resource and the construct, never
// a silently wrong answer. Other resource types (dashboard, metric filters,
// Lambda, IAM) do not change what the alarms do and are not evaluated.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fitwatch::tools {

/// A template that cannot be read or evaluated. what() names the resource
/// and the construct.
class template_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// YAML (CloudFormation short-form tags become Fn:: objects) or JSON.
/// \throw template_error
nlohmann::json parse_template(const std::string& text);

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

struct topic {
  std::string logical_id, arn, display_name;
  std::vector<std::string> emails;  ///< email subscriptions, in template order
};

struct template_model {
  std::string region, account_id, stack_name;
  std::vector<metric_alarm> alarms;
  std::vector<composite_alarm> composites;
  std::vector<topic> topics;
  std::vector<std::string> skipped;  ///< resources not evaluated (type: id)
};

struct template_options {
  std::map<std::string, std::string> parameters;  ///< overrides, as on the CLI
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string stack_name = "fitwatch-replay";
};

/// \throw template_error
template_model evaluate_template(const nlohmann::json& t, const template_options& options);

}  // namespace fitwatch::tools
