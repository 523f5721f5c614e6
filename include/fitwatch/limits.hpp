// fitwatch: the EMF and CloudWatch limits the library enforces.
//
// Sources: the EMF specification (limits section, 1 MB events since April
// 2025), and the CloudWatch API reference for Metric / Dimension
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html).
#pragma once

#include <cstddef>

namespace fitwatch::limits {

/// Metric definitions in one directive; more are split into several events.
inline constexpr std::size_t max_metrics_per_event = 100;
/// Values in one metric array; more are split into several events.
inline constexpr std::size_t max_values_per_metric = 100;
/// Dimension names in one dimension set.
inline constexpr std::size_t max_dimensions_per_set = 30;
/// Metric names, dimension names and property names: 1..255 characters.
inline constexpr std::size_t max_name_length = 255;
/// Namespaces: 1..255 characters (the API limit; EMF alone allows 1024).
inline constexpr std::size_t max_namespace_length = 255;
/// Dimension values: 1..1024 characters.
inline constexpr std::size_t max_dimension_value_length = 1024;
/// One log event, and so one EMF line, in bytes.
inline constexpr std::size_t max_event_bytes = 1024 * 1024;
/// PIPE_BUF on Linux: a write(2) of at most this many bytes to a pipe is
/// atomic (never split, never interleaved with another writer's), POSIX
/// write(2) and pipe(7). A logger keeps its lines at most this long by
/// default (logger_options::max_line_bytes).
inline constexpr std::size_t pipe_buf = 4096;
/// A string property longer than this is cut (at a UTF-8 boundary) and the
/// cut is reported.
inline constexpr std::size_t max_property_bytes = 16 * 1024;

}  // namespace fitwatch::limits
