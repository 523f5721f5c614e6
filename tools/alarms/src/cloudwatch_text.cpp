#include "alarms/cloudwatch_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "alarms/model.hpp"
#include "number_text.hpp"  // std::to_chars, or its stand-in where GCC 10 has none

namespace fitwatch::alarms {

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string to_string(alarm_state s) {
  switch (s) {
    case alarm_state::ok:
      return "OK";
    case alarm_state::alarm:
      return "ALARM";
    case alarm_state::insufficient_data:
      return "INSUFFICIENT_DATA";
  }
  return "?";
}

std::string java_double(double v) {
  // Java's Double.toString spells the non-finite values out; a sum of huge
  // values overflows to Infinity and must print, never throw.
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[330];  // what format_double_as may write
  const double a = std::fabs(v);
  if (a >= 1e-3 && a < 1e7) {
    std::string s(buf, fitwatch::detail::format_double_as(buf, v, true));
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
  }
  std::string s(buf, fitwatch::detail::format_double_as(buf, v, false));  // 1.5e-05
  const auto e = s.find('e');
  std::string mant = s.substr(0, e);
  if (mant.find('.') == std::string::npos) mant += ".0";
  int exp = 0;
  const char* digits = s.c_str() + e + 1;
  if (*digits == '+') ++digits;  // from_chars takes '-' but not '+'
  std::from_chars(digits, s.c_str() + s.size(), exp);
  return mant + "E" + std::to_string(exp);
}

namespace {
// The calendar time of `ms`; false outside years 1970..9999 (what
// CloudWatch's formats can write).
bool utc(std::int64_t ms, std::tm& tm) {
  tm = std::tm{};
  if (ms < 0 || ms > max_time_ms) return false;
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  return gmtime_r(&t, &tm) != nullptr;
}
std::string out_of_range(std::int64_t ms) {
  return std::to_string(ms) + " ms (not a date in years 1970..9999)";
}

// `ms` in strftime's `format` (at most 31 characters), or out_of_range().
std::string formatted(std::int64_t ms, const char* format) {
  std::tm tm;
  if (!utc(ms, tm)) return out_of_range(ms);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}
}  // namespace

std::string iso_time(std::int64_t ms) {
  return formatted(ms, "%Y-%m-%d %H:%M:%S UTC");
}

std::string email_time(std::int64_t ms) {
  static const char* days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                               "Thursday", "Friday", "Saturday"};
  static const char* months[] = {"January",   "February", "March",    "April",
                                 "May",       "June",     "July",     "August",
                                 "September", "October",  "November", "December"};
  std::tm tm;
  if (!utc(ms, tm)) return out_of_range(ms);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s %02d %s, %d %02d:%02d:%02d UTC", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string datapoint_time(std::int64_t ms) {
  return formatted(ms, "%d/%m/%y %H:%M:%S");
}

}  // namespace fitwatch::alarms
