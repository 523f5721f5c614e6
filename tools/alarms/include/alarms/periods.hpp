// An alarm's periods: the samples of a series cut into consecutive periods
// of the alarm's length, aligned on multiples of the period, each holding
// the samples with start <= timestamp < start + period. Every kind of alarm
// (single metric, metric math, Metrics Insights) buckets its samples here,
// then reduces each period to one datapoint with its statistic.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#CloudWatchPeriods
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "alarms/metric_store.hpp"

namespace fitwatch::alarms {

/// The samples of one period.
struct period_samples {
  std::int64_t start = 0;
  std::vector<double> values;
  std::optional<std::int64_t> epoch;  ///< of the last sample in it that has one
};

/// Makes `periods` hold `count` consecutive empty periods of `period_ms`,
/// the first starting at `first_start` (reusing its buffers).
void reset_periods(std::vector<period_samples>& periods, std::size_t count,
                   std::int64_t first_start, std::int64_t period_ms);

/// Adds each sample of `series` (sorted by time; null adds nothing) that
/// falls inside `periods` to its period. Several series may be added to the
/// same periods (a Metrics Insights group).
void add_to_periods(const std::vector<sample>* series, std::vector<period_samples>& periods,
                    std::int64_t period_ms);

}  // namespace fitwatch::alarms
