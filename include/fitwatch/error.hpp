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
// handed to the error handler, which reports at most once a second; the
// default handler writes one line to stderr, so stdout carries only metric
// lines.
#pragma once

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

/// Receives a diagnostic that happened after set-up. Must not throw.
using error_handler = std::function<void(std::string_view message)>;

/// Replaces the process-wide error handler; an empty function restores the
/// default (one line on stderr). Calls are rate-limited to one a second; the
/// message of the next call says how many were suppressed in between.
/// Thread-safe.
void set_error_handler(error_handler handler);

}  // namespace fitwatch
