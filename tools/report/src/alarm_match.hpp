// Which alarms and transitions belong to a job's section of the report, and
// which of the report's metrics an alarm reads.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"

namespace fitwatch::report::detail {

// True for a Metrics Insights alarm.
bool is_insights(const alarms::metric_alarm& a);
// The metric an alarm reads, if it is one the report draws (a
// `metric`): its MetricName, or the metric of its Metrics
// Insights query; metric_count if none.
std::size_t watched_metric(const alarms::metric_alarm& a);
// True if a metric alarm watches this job: one of its dimension values is
// the job's name, or it has none, or it is a Metrics Insights alarm (one
// contributor per job).
bool watches_job(const alarms::metric_alarm& a, const std::string& job);
// True if a composite alarm concerns this job: one of its children watches
// it, or none of its children is a metric alarm of the model.
bool composite_watches_job(const alarms::template_model& model, const alarms::composite_alarm& c,
                           const std::string& job);
// The contributors a Metrics Insights transition lists ("Dim=value,..."),
// by job (the value), read once per transition; empty for other alarms.
using contributor_items = std::unordered_map<std::string, std::string>;
contributor_items contributors_by_job(const alarms::transition& t);
// True if a transition belongs to this job's section: a metric alarm that
// watches it; a Metrics Insights alarm whose contributors (`items`) name it
// (or none, when it returns to OK); a composite alarm one of whose children
// does.
bool concerns_job(const alarms::template_model& model, const alarms::transition& t,
                  const std::string& job, const contributor_items& items);
// A transition's contributors as a job's section shows them: a contributor's
// own transition, all; an alarm-level one listing several, only the one
// naming `job` and how many others, so a fleet's report grows with the
// number of jobs, not with its square.
std::string contributors_of_job(const alarms::transition& t, const std::string& job,
                                const contributor_items& items);

}  // namespace fitwatch::report::detail
