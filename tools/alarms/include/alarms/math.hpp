// Metric math for fitwatch replay: the expressions of a metric-math alarm's
// Metrics, evaluated over series of period values, as CloudWatch does
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
// Supported: numbers, query ids, + - * / (unary -), comparisons > < >= <=
// == != (1 or 0), AND/OR, functions ABS, DIFF, RATE, FILL(s, value|REPEAT),
// IF(cond, a[, b]), MAX/MIN/SUM/AVG of [array] (per period) or of one
// series (a scalar over the time range). Anything else is an error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace fitwatch::alarms {

/// Values of one query per period, oldest first (nullopt: no datapoint).
using period_series = std::vector<std::optional<double>>;

class math_expression {
 public:
  struct node;  ///< the parsed expression (defined in math.cpp)

  /// \throw alarm_error naming the construct that is not supported.
  explicit math_expression(const std::string& text);
  ~math_expression();
  math_expression(math_expression&&) noexcept;

  /// The ids the expression reads.
  std::vector<std::string> ids() const;
  /// Evaluates over periods of `period_ms` starting at `first_start_ms`;
  /// `lookup(id)` gives the series of a query (same length for all).
  period_series evaluate(const std::function<const period_series&(const std::string&)>& lookup,
                         std::int64_t first_start_ms, std::int64_t period_ms,
                         std::size_t length) const;

 private:
  std::unique_ptr<node> root_;
  std::string text_;
};

}  // namespace fitwatch::alarms
