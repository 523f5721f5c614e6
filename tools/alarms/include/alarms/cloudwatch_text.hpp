// CloudWatch's ways of writing numbers and times in alarm reasons and in
// the notification email, as real alarms write them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fitwatch::alarms {

/// The last millisecond of year 9999: the latest time CloudWatch's formats
/// (and the alarm engine) handle.
constexpr std::int64_t max_time_ms = 253402300799999;

/// A number as CloudWatch writes it in alarm text: like Java's
/// Double.toString (1.0, 0.25, 1.0E-4, Infinity, NaN).
std::string java_double(double v);
/// "2025-06-15 12:07:17 UTC" (the report's time format).
std::string iso_time(std::int64_t ms);
/// "Sunday 15 June, 2025 12:07:17 UTC"
std::string email_time(std::int64_t ms);
/// "15/06/25 12:02:00". A time outside years 1970..9999 (any of the three
/// formats) is written as "<ms> ms (not a date in years 1970..9999)".
std::string datapoint_time(std::int64_t ms);
/// "1 period", "3 periods".
std::string plural(std::size_t n, const char* word);

}  // namespace fitwatch::alarms
