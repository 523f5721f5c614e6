// Private: the one way the library reports a problem after set-up.
#pragma once

#include <chrono>
#include <string_view>

namespace fitwatch::detail {

enum class urgency : unsigned char {
  normal,  ///< rate-limited to one report a second, process-wide
  always,  ///< never rate-limited nor dropped for a full queue (data loss at SIGTERM)
};

/// Queues `message` for the error handler, which runs on fitwatch's
/// diagnostics thread, never on the caller's. Never blocks, never throws:
/// takes one short lock that is never held across I/O. Normal messages are
/// rate-limited (the next one says how many were suppressed); when the
/// queue is full (stderr not read) they are dropped and counted.
void report(std::string_view message, urgency u = urgency::normal) noexcept;

/// Waits until every message queued so far has been handed to the handler,
/// or the timeout; false on timeout.
bool flush_reports(std::chrono::milliseconds timeout) noexcept;

}  // namespace fitwatch::detail
