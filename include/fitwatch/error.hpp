// fitwatch: errors at set-up, and the handler for problems after it.
//
// fitwatch throws only while a program sets itself up: declaring a namespace,
// a metric, a dimension or a property with an invalid name, unit or value.
// Every such error is a fitwatch::error whose what() starts with the stable,
// greppable prefix "fitwatch: " and names the offending item, e.g.
//
//   fitwatch: invalid metric name "": empty (1..255 characters)
//
// After set-up nothing throws. Problems on the per-evaluation path (a NaN
// loss, a full queue, a closed stdout) are counted where they happen and
// queued for the error handler, at most one report a second. The handler
// runs on fitwatch's own diagnostics thread, never on the thread that found
// the problem, so a stderr nobody reads never blocks the training loop: the
// queue holds 64 reports, and further ones are dropped and counted (the
// next delivered report says how many). The default handler writes one
// line to stderr, so stdout carries only metric lines. At exit the process
// waits up to 0.5 s for queued reports to be delivered.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fitwatch {

/// The one exception type of fitwatch. Thrown only by set-up calls.
class error : public std::invalid_argument {
 public:
  /// \param detail the message after the "fitwatch: " prefix.
  explicit error(const std::string& detail);
};

/// Receives a diagnostic that happened after set-up, on fitwatch's
/// diagnostics thread. Must not throw; it may block (only later reports wait).
using error_handler = std::function<void(std::string_view message)>;

/// Replaces the process-wide error handler; an empty function restores the
/// default (one line on stderr). Reports are rate-limited to one a second;
/// the message of the next report says how many were suppressed in between
/// (the warning that SIGTERM lost queued lines is never suppressed).
/// Thread-safe; reports already queued go to the handler set when they are
/// delivered.
void set_error_handler(error_handler handler);

/// Waits until every report queued so far has been handed to the error
/// handler, or the timeout; false on timeout (e.g. stderr is not read).
/// Thread-safe.
bool flush_reports(std::chrono::milliseconds timeout) noexcept;

}  // namespace fitwatch
