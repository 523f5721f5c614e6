// Private: the one way the library reports a problem after set-up.
#pragma once

#include <string_view>

namespace fitwatch::detail {

/// Hands `message` to the error handler, at most once a second process-wide;
/// messages in between are counted and the next report says how many.
/// Never throws, never blocks on I/O for long (stderr only).
void report(std::string_view message) noexcept;

}  // namespace fitwatch::detail
