// Runs a Lambda function of the template (the fitwatch formatter) as
// `fitwatch replay` sees it: the function's own inline code, run by
// python3, with a fake boto3 whose Logs client answers from the log's
// lines and whose SNS client records what the function publishes. So the
// email replay renders is what the deployed function sends: one code path.
//
// \code
//   log_window lines;                      // every EMF line of the log, bounded
//   lines.add(text, timestamp_ms, visible_ms);
//   const auto r = run_function(fn, sns_message(t, model), t.time_ms, model.region, lines);
//   for (const auto& p : r.publishes) ...; // p.topic, p.subject, p.message
// \endcode
//
// Thread safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "alarms/model.hpp"

namespace fitwatch::notify {

/// The log lines a function may read: the most recent `capacity` EMF lines
/// with their timestamps and the time they become visible in CloudWatch
/// Logs (timestamp + the delivery delay).
class log_window {
 public:
  explicit log_window(std::size_t capacity = 5000) : capacity_(capacity) {}
  void add(const std::string& line, std::int64_t timestamp_ms, std::int64_t visible_ms);
  struct entry {
    std::string line;
    std::int64_t timestamp_ms, visible_ms;
  };
  const std::deque<entry>& entries() const { return entries_; }

 private:
  std::size_t capacity_;
  std::deque<entry> entries_;
};

/// One sns:Publish the function made.
struct publish {
  std::string topic, subject, message;
};

struct function_result {
  std::vector<publish> publishes;
  std::vector<std::string> calls;  ///< "logs:FilterLogEvents", "sns:Publish", in order
  std::string error;               ///< empty if the function ran and returned
};

/// Runs `fn` on one SNS record carrying `message`, at time `now_ms` (the
/// transition's), with `lines` visible up to then. Needs python3 on PATH
/// (or $FITWATCH_PYTHON); never throws: a failure is in `error`.
function_result run_function(const alarms::lambda_function& fn, const std::string& topic_arn,
                             const std::string& message, std::int64_t now_ms,
                             const std::string& region, const log_window& lines);

}  // namespace fitwatch::notify
