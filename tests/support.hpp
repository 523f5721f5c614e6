// Test helpers: a sink that records lines (with a delay knob to force
// overflow), an error-handler capture, and the EMF check every emitted line
// goes through.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "emf_validate.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/sink.hpp"

namespace fitwatch::test {

class capture_sink : public sink {
 public:
  void write(std::string_view line) noexcept override {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    const std::lock_guard<std::mutex> lock(mutex);
    lines.emplace_back(line);
  }
  std::vector<std::string> snapshot() {
    const std::lock_guard<std::mutex> lock(mutex);
    return lines;
  }
  std::chrono::microseconds delay{0};
  std::mutex mutex;
  std::vector<std::string> lines;
};

// A sink that blocks every write until opened: a stalled reader of stdout.
class gate_sink : public sink {
 public:
  void write(std::string_view line) noexcept override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    lines_.emplace_back(line);
  }
  void open() {
    const std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void wait_entered(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<std::string> lines() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int entered_ = 0;
  std::vector<std::string> lines_;
};

/// Parses a line and checks it is one whole, valid EMF event.
inline nlohmann::json parse_emf(const std::string& line) {
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);
  const auto report = tools::validate_line(std::string_view(line).substr(0, line.size() - 1));
  INFO(line.substr(0, 400));
  for (const auto& e : report.errors) INFO(e);
  CHECK(report.errors.empty());
  REQUIRE(report.kind == tools::line_kind::emf);
  return nlohmann::json::parse(line);
}

/// Captures error-handler reports for the lifetime of the object.
struct capture_reports {
  capture_reports() {
    set_error_handler([this](std::string_view m) {
      const std::lock_guard<std::mutex> lock(mutex);
      messages.emplace_back(m);
    });
  }
  ~capture_reports() { set_error_handler({}); }
  std::vector<std::string> all() {
    const std::lock_guard<std::mutex> lock(mutex);
    return messages;
  }
  std::mutex mutex;
  std::vector<std::string> messages;
};

}  // namespace fitwatch::test
