// The statistic of an alarm's period: SampleCount, Sum, Average, Minimum,
// Maximum and percentiles pNN(.N), over the raw values of the period.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fitwatch::alarms {

/// The statistic `stat` of `values`; nullopt when there are none.
/// \throw alarm_error for an unknown statistic.
std::optional<double> statistic(const std::string& stat, const std::vector<double>& values);

}  // namespace fitwatch::alarms
