// Which alarms and transitions belong to a job's section of the report, and
// where an alarm's signal crosses its threshold.
#pragma once

#include <cstddef>
#include <string>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"

namespace fitwatch::tools::report_detail {

// An alarm's ComparisonOperator; `band` for the anomaly-detection ones
// (no fixed threshold to cross).
enum class comparison { greater_or_equal, greater, less, less_or_equal, band };
comparison comparison_of(const std::string& comparison_operator);
// True if `v` breaches `threshold` (never for a band).
inline bool breaches(comparison c, double v, double threshold) {
  switch (c) {
    case comparison::greater_or_equal:
      return v >= threshold;
    case comparison::greater:
      return v > threshold;
    case comparison::less:
      return v < threshold;
    case comparison::less_or_equal:
      return v <= threshold;
    case comparison::band:
      break;
  }
  return false;
}
// True for a Metrics Insights alarm.
bool is_insights(const metric_alarm& a);
// The metric an alarm reads, if it is one the report draws (a
// run_report::metric): its MetricName, or the metric of its Metrics
// Insights query; run_report::metric_count if none.
std::size_t watched_metric(const metric_alarm& a);
// True if a metric alarm watches this job: one of its dimension values is
// the job's name, or it has none, or it is a Metrics Insights alarm (one
// contributor per job).
bool watches_job(const metric_alarm& a, const std::string& job);
// True if a transition belongs to this job's section: a metric alarm that
// watches it; a Metrics Insights alarm whose contributors name it (or none,
// when it returns to OK); a composite alarm one of whose children does.
bool concerns_job(const template_model& model, const transition& t, const std::string& job);

}  // namespace fitwatch::tools::report_detail
