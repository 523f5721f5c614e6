// Private: CloudWatch's rules for names, checked when a namespace,
// dimension or metric is declared (record.cpp, monitor.cpp, detector.cpp).
// Each check_* throws fitwatch::error naming what it checked and why.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html
#pragma once

#include <string_view>

namespace fitwatch {

/// \throw error if `ns` is not a valid CloudWatch namespace (1..255 ASCII
/// printable characters, not starting with ':' or "AWS/").
void check_namespace(std::string_view ns);
/// \throw error if `name` is not a valid metric name (1..255 characters, UTF-8).
void check_metric_name(std::string_view name);
/// \throw error if `name` is not a valid dimension name (1..255 ASCII
/// characters, no control character, not only spaces, not starting with ':').
void check_dimension_name(std::string_view name);
/// \throw error if `value` is not a valid dimension value (1..1024 ASCII
/// characters, no control character, not only spaces) for the dimension `name`.
void check_dimension_value(std::string_view name, std::string_view value);

}  // namespace fitwatch
