// One change of an alarm's state, as the engine reports it: when, from what
// to what, CloudWatch's reason text, and what the email needs to name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "alarms/model.hpp"

namespace fitwatch::alarms {

struct transition {
  std::int64_t time_ms = 0;
  std::string alarm_name, alarm_arn;
  alarm_state old_state = alarm_state::insufficient_data;
  alarm_state new_state = alarm_state::insufficient_data;
  std::string reason;
  std::optional<std::int64_t> epoch;
  std::vector<std::string> actions;  ///< the action ARNs this transition runs
  // For the email: the alarm; `metric` or `composite` says which kind (and
  // whether the transition is a composite alarm's).
  const alarm_common* alarm = nullptr;
  const metric_alarm* metric = nullptr;
  const composite_alarm* composite = nullptr;
  std::vector<std::string> triggering_children;  ///< composite: "<arn> transitioned to ..."
  /// Metrics Insights: "Dim=value" of the contributor (contributor level),
  /// or of every contributor in ALARM, comma-separated (alarm level).
  std::string contributor;
  /// Metrics Insights, contributor level only (empty at the alarm level):
  /// the contributor's id (16 characters, as DescribeAlarmContributors
  /// returns it) and attributes (its GROUP BY dimensions). Each contributor
  /// going to ALARM or back to OK is its own transition and runs the
  /// alarm's actions ("Acting on alarm changes":
  /// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Acting_Alarm_Changes.html).
  std::string contributor_id;
  std::vector<std::pair<std::string, std::string>> contributor_attributes;
  bool contributor_level() const { return !contributor_attributes.empty(); }
};

}  // namespace fitwatch::alarms
