// When CloudWatch Logs takes a log event: PutLogEvents rejects events more
// than 14 days older, or more than 2 hours newer, than the time they arrive,
// and keeps the rest of the batch. A rejected EMF line never becomes a
// metric.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
//
// A log read by fitwatch does not say when each line arrived. The log's
// clock stands for it: the latest timestamp accepted so far (lines arrive
// as they are written), and never earlier than the wall clock for the
// future bound (a line written before now cannot have arrived later than
// now). So an event is rejected if it is more than 14 days older than the
// latest accepted one, or more than 2 hours newer than both the latest
// accepted one and the wall clock. The first event starts the clock.
//
// \code
//   fitwatch::alarms::log_clock clock;
//   if (const auto why = clock.admit(event.timestamp_ms)) report(*why);  // skipped
// \endcode
//
// Thread safety: none; one per log.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace fitwatch::alarms {

class log_clock {
 public:
  static constexpr std::int64_t max_age_ms = 14LL * 24 * 3600 * 1000;
  static constexpr std::int64_t max_ahead_ms = 2LL * 3600 * 1000;

  /// `wall_ms` gives the wall clock in ms since the epoch (tests fake it).
  explicit log_clock(std::function<std::int64_t()> wall_ms = system_ms);

  /// nullopt if CloudWatch Logs would take an event stamped `timestamp_ms`
  /// (the clock then moves to it if later); otherwise why it is rejected,
  /// naming both times.
  std::optional<std::string> admit(std::int64_t timestamp_ms);

  /// The latest accepted timestamp, if any.
  std::optional<std::int64_t> now() const { return latest_; }

  static std::int64_t system_ms();

 private:
  std::function<std::int64_t()> wall_ms_;
  std::optional<std::int64_t> latest_;
};

}  // namespace fitwatch::alarms
