// CloudWatch's ways of writing numbers and times in alarm reasons and in
// the notification email, as real alarms write them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fitwatch::tools {

/// A number as CloudWatch writes it in alarm text: like Java's
/// Double.toString (1.0, 0.25, 1.0E-4).
std::string java_double(double v);
/// "Sunday 15 June, 2025 12:07:17 UTC"
std::string email_time(std::int64_t ms);
/// "15/06/25 12:02:00"
std::string datapoint_time(std::int64_t ms);
/// "1 period", "3 periods".
std::string plural(std::size_t n, const char* word);

}  // namespace fitwatch::tools
