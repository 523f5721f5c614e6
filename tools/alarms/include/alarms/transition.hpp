// One change of an alarm's state, as the engine reports it: when, from what
// to what, CloudWatch's reason text, and what the email needs to name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alarms/model.hpp"

namespace fitwatch::tools {

struct transition {
  std::int64_t time_ms = 0;
  std::string alarm_name, alarm_arn;
  bool composite = false;
  alarm_state old_state = alarm_state::insufficient_data;
  alarm_state new_state = alarm_state::insufficient_data;
  std::string reason;
  std::optional<std::int64_t> epoch;
  std::vector<std::string> actions;  ///< the action ARNs this transition runs
  // For the email: the alarm; `metric` or `composite_alarm_` says which kind.
  const alarm_common* alarm = nullptr;
  const metric_alarm* metric = nullptr;
  const composite_alarm* composite_alarm_ = nullptr;
  std::vector<std::string> triggering_children;  ///< composite: "<arn> transitioned to ..."
  std::string contributor;                       ///< Metrics Insights: the group value
};

}  // namespace fitwatch::tools
