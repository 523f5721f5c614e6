// Which alarms and transitions belong to a job's section of the report, and
// which of the report's metrics an alarm reads.
#pragma once

#include <cstddef>
#include <string>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"

namespace fitwatch::tools::report_detail {

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
