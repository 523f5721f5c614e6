// The metrics the report reads, by name: the order of run_report::metric.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "report/report.hpp"

namespace fitwatch::tools::report_detail {

// The metrics, in the order of run_report::metric.
inline constexpr std::array<std::string_view, run_report::metric_count> metric_names = {
    "TrainLoss",           "ValidationLoss",           "BestValidationLoss",
    "GeneralizationLoss",  "ValidationLossRiseStreak", "EvaluationsSinceBest",
    "OverfittingDetected", "TrainingDiverged",         "GeneralizationGapRatio"};

inline std::size_t metric_index(std::string_view name) {
  for (std::size_t i = 0; i < metric_names.size(); ++i)
    if (metric_names[i] == name) return i;
  return run_report::metric_count;
}

}  // namespace fitwatch::tools::report_detail
