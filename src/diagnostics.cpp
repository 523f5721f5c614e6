// Diagnostics go to stderr so that stdout carries only metric lines.
#include "diagnostics.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include "fitwatch/error.hpp"

namespace fitwatch {

error::error(const std::string& detail) : std::invalid_argument("fitwatch: " + detail) {}

namespace {

struct reporter {
  std::mutex mutex;
  error_handler handler;
  std::chrono::steady_clock::time_point last{};
  bool reported_once = false;
  unsigned long long suppressed = 0;
};

// Both are leaked on purpose: a background writer may report after main()
// returns, when static objects are being destroyed.
reporter& the_reporter() {
  static auto* r = new reporter;
  return *r;
}

// One line on stderr, written with one call (stderr is unbuffered), so
// that it never interleaves with another thread's output. Called under the
// reporter's lock.
void default_handler(std::string_view message) {
  std::string line(message);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void set_error_handler(error_handler handler) {
  auto& r = the_reporter();
  const std::lock_guard<std::mutex> lock(r.mutex);
  r.handler = std::move(handler);
  r.reported_once = false;
  r.suppressed = 0;
}

namespace detail {

void report(std::string_view message) noexcept {
  try {
    auto& r = the_reporter();
    const std::lock_guard<std::mutex> lock(r.mutex);
    const auto now = std::chrono::steady_clock::now();
    if (r.reported_once && now - r.last < std::chrono::seconds(1)) {
      ++r.suppressed;
      return;
    }
    std::string text(message);
    if (r.suppressed > 0) {
      text += " (" + std::to_string(r.suppressed) + " more reports suppressed in the last second)";
    }
    r.last = now;
    r.reported_once = true;
    r.suppressed = 0;
    if (r.handler) {
      r.handler(text);
    } else {
      default_handler(text);
    }
  } catch (...) {
    // A failing report must never reach the training loop.
  }
}

}  // namespace detail
}  // namespace fitwatch
