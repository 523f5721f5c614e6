// The metrics the report reads, by name, in the order of the `metric` enum
// (run_data.hpp).
// Each name is taken from the library's table (fitwatch::signal_metrics), so
// renaming a signal there fails to compile here instead of silently emptying
// the report's curves.
#pragma once

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string_view>

#include "fitwatch/monitor.hpp"
#include "run_data.hpp"

namespace fitwatch::report::detail {

// `name` as the library's table has it; not a constant expression (a
// compile error where it is used as one) if the library emits no such metric.
// A throw-expression, not a throw statement: GCC 10 (the wheel's Debian 11
// root) rejects a constexpr function that ends in a throw statement.
constexpr std::string_view signal(std::string_view name) {
  std::size_t i = 0;
  while (i < fitwatch::signal_metrics.size() && fitwatch::signal_metrics[i].name != name) ++i;
  return i < fitwatch::signal_metrics.size()
             ? fitwatch::signal_metrics[i].name
             : throw std::invalid_argument("not a metric fitwatch::signal_metrics declares");
}

// The metrics, in the order of the `metric` enum.
inline constexpr std::array<std::string_view, metric_count> metric_names = {
    signal("TrainLoss"),
    signal("ValidationLoss"),
    signal("BestValidationLoss"),
    signal("GeneralizationLoss"),
    signal("ValidationLossRiseStreak"),
    signal("EvaluationsSinceBest"),
    signal("OverfittingDetected"),
    signal("TrainingDiverged"),
    signal("GeneralizationGapRatio")};

inline std::size_t metric_index(std::string_view name) {
  for (std::size_t i = 0; i < metric_names.size(); ++i)
    if (metric_names[i] == name) return i;
  return metric_count;
}

}  // namespace fitwatch::report::detail
