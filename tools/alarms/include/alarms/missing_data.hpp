// One evaluation of a metric alarm: the datapoints of its evaluation range
// (N + 2 periods, oldest first), M out of N, TreatMissingData, and the
// reason CloudWatch writes when the state changes.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alarms/model.hpp"

namespace fitwatch::alarms {

/// One period's datapoint: nullopt value = missing.
struct point {
  std::int64_t start = 0;
  std::optional<double> value;
  std::optional<std::int64_t> epoch;
};

/// The outcome of one evaluation; `next` empty = keep the current state.
struct decision {
  std::optional<alarm_state> next;
  std::string reason;  ///< written only when the state changes
  std::optional<std::int64_t> epoch;
};

/// An alarm's ComparisonOperator; `band` for the anomaly-detection ones
/// (no fixed threshold to cross). Read once, for a caller that compares
/// many values (the report, at every evaluation of a log).
enum class comparison_op { greater_or_equal, greater, less, less_or_equal, band };
comparison_op comparison_of(const std::string& comparison);

/// True if `value` breaches `threshold` (never for a band).
inline bool breaches(comparison_op op, double value, double threshold) {
  switch (op) {
    case comparison_op::greater_or_equal:
      return value >= threshold;
    case comparison_op::greater:
      return value > threshold;
    case comparison_op::less:
      return value < threshold;
    case comparison_op::less_or_equal:
      return value <= threshold;
    case comparison_op::band:
      break;
  }
  return false;
}

/// True if `value` breaches `threshold` under the ComparisonOperator.
bool breaches(const std::string& comparison, double value, double threshold);

/// "greater than or equal to" for GreaterThanOrEqualToThreshold, ...
std::string comparison_phrase(const std::string& comparison);

/// The reason of a Metrics Insights contributor's change to `next`
/// (`decided` is decide()'s reason). ALARM in CloudWatch's words for
/// contributors (the "Alarm Contributor State Change" example of
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html):
/// "Threshold Crossed: 1 datapoint was greater than or equal to the
/// threshold (1.0). The most recent datapoint which crossed the threshold:
/// [1.0 (15/06/25 12:02:00)]."; OK (undocumented) is `decided`.
std::string contributor_reason(const metric_alarm& a, const std::vector<point>& range,
                               alarm_state next, const std::string& decided);
/// The reason of a contributor whose series has no datapoint left in the
/// `periods` of the evaluation range (fitwatch's wording: undocumented).
std::string contributor_gone_reason(std::size_t periods);

/// Evaluates `range` (the evaluation range, oldest first) for alarm `a`
/// currently in state `current`.
decision decide(const metric_alarm& a, const std::vector<point>& range, alarm_state current);

}  // namespace fitwatch::alarms
