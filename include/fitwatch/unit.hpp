// fitwatch: the units and storage resolutions of CloudWatch metrics.
//
// EMF accepts exactly 27 unit strings and the storage resolutions 1 (high
// resolution, needed for 10/20/30-second alarms) and 60 (the default).
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html
//
// \code
//   fitwatch::unit u = fitwatch::parse_unit("Bytes/Second").value();
//   assert(fitwatch::to_string(u) == "Bytes/Second");
// \endcode
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fitwatch {

/// The 27 units CloudWatch accepts, in the order of the API reference.
enum class unit : std::uint8_t {
  seconds,
  microseconds,
  milliseconds,
  bytes,
  kilobytes,
  megabytes,
  gigabytes,
  terabytes,
  bits,
  kilobits,
  megabits,
  gigabits,
  terabits,
  percent,
  count,
  bytes_per_second,
  kilobytes_per_second,
  megabytes_per_second,
  gigabytes_per_second,
  terabytes_per_second,
  bits_per_second,
  kilobits_per_second,
  megabits_per_second,
  gigabits_per_second,
  terabits_per_second,
  count_per_second,
  none,
};

/// How many units there are (27).
inline constexpr std::size_t unit_count = static_cast<std::size_t>(unit::none) + 1;

/// The exact string CloudWatch uses for the unit, e.g. "Count/Second".
std::string_view to_string(unit u) noexcept;

/// The unit named exactly (case-sensitive) by `name`, or nullopt.
std::optional<unit> parse_unit(std::string_view name) noexcept;

/// StorageResolution: `high` stores 1-second data, `standard` 1-minute data.
enum class resolution : std::uint8_t { high = 1, standard = 60 };

}  // namespace fitwatch
