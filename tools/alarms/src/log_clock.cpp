#include "alarms/log_clock.hpp"

#include <algorithm>
#include <chrono>

#include "alarms/cloudwatch_text.hpp"

namespace fitwatch::alarms {

log_clock::log_clock(std::function<std::int64_t()> wall_ms) : wall_ms_(std::move(wall_ms)) {}

std::int64_t log_clock::system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::string> log_clock::admit(std::int64_t ts) {
  const std::int64_t ahead_of = std::max(latest_.value_or(0), wall_ms_());
  // (Differences, not sums: no overflow whatever the timestamp.)
  if (ts > ahead_of && ts - ahead_of > max_ahead_ms) {
    return "timestamp " + iso_time(ts) + " is more than 2 hours after the log's clock (" +
           iso_time(ahead_of) + "); CloudWatch Logs rejects it";
  }
  if (latest_ && ts<*latest_&& * latest_ - ts> max_age_ms) {
    return "timestamp " + iso_time(ts) + " is more than 14 days before the log's clock (" +
           iso_time(*latest_) + "); CloudWatch Logs rejects it";
  }
  latest_ = std::max(latest_.value_or(ts), ts);
  return std::nullopt;
}

}  // namespace fitwatch::alarms
