// Reading a CloudFormation template (YAML with short-form tags, or JSON) and
// evaluating the parts that decide when fitwatch's alarms fire and whom they
// email: parameters (defaults, overrides, AllowedValues, AllowedPattern,
// MinLength/MaxLength, MinValue/MaxValue, Number),
// Rules assertions, Conditions, Fn::ForEach, and in the alarm, topic and
// subscription resources Ref, Fn::Sub, Fn::Join, Fn::Select, Fn::Split,
// Fn::If, Fn::GetAtt (alarm Arn, topic TopicArn/TopicName). Anything else in
// those resources is an error naming the resource and the construct, never
// a silently wrong answer. Other resource types (dashboard, metric filters,
// Lambda, IAM) do not change what the alarms do and are not evaluated.
// Hostile templates are errors, never a crash or a hang: reference cycles
// (named in the message), nesting over 100 levels, reference chains over
// 200, more than 1 MB, YAML aliases expanding past 2 nodes per byte,
// parameter values over 4,096 bytes, alarms over PutMetricAlarm's limits,
// and control characters in values that end up in email headers.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "alarms/error.hpp"
#include "alarms/model.hpp"

namespace fitwatch::cfn {

/// A template that cannot be read or evaluated. what() names the resource
/// and the construct.
class template_error : public alarms::alarm_error {
 public:
  using alarms::alarm_error::alarm_error;
};

/// YAML (CloudFormation short-form tags become Fn:: objects) or JSON.
/// \throw template_error
nlohmann::json parse_template(const std::string& text);

struct template_options {
  std::map<std::string, std::string> parameters;  ///< overrides, as on the CLI
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string stack_name = "fitwatch-replay";
};

/// \throw template_error
alarms::template_model evaluate_template(const nlohmann::json& t, const template_options& options);

}  // namespace fitwatch::cfn
