// Test helpers: a sink that records lines (with a delay knob to force
// overflow), an error-handler capture, and the EMF check every emitted line
// goes through.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
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
