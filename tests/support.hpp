// Test helpers: a sink that records lines (with a delay knob to force
// overflow), an error-handler capture, and the EMF check every emitted line
// goes through.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "emf/inspect.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/logger.hpp"
#include "fitwatch/sink.hpp"

namespace fitwatch::test {

class capture_sink : public sink {
 public:
  // Records each line of a write (a logger may write several at once).
  void write(std::string_view text) noexcept override {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    const std::lock_guard<std::mutex> lock(mutex);
    ++writes;
    split(text, lines);
  }
  static void split(std::string_view text, std::vector<std::string>& into) {
    while (!text.empty()) {
      const auto end = text.find('\n');
      const auto n = end == std::string_view::npos ? text.size() : end + 1;
      into.emplace_back(text.substr(0, n));
      text.remove_prefix(n);
    }
  }
  std::vector<std::string> snapshot() {
    const std::lock_guard<std::mutex> lock(mutex);
    return lines;
  }
  std::chrono::microseconds delay{0};
  std::mutex mutex;
  std::vector<std::string> lines;
  std::size_t writes = 0;
};

// A sink that blocks every write until opened: a stalled reader of stdout.
class gate_sink : public sink {
 public:
  void write(std::string_view line) noexcept override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    ++writes_;
    max_write_ = std::max(max_write_, line.size());
    capture_sink::split(line, lines_);
  }
  std::size_t writes() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return writes_;
  }
  std::size_t max_write() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return max_write_;
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
  std::size_t writes_ = 0, max_write_ = 0;
  std::vector<std::string> lines_;
};

/// Parses a line and checks it is one whole, valid EMF event.
inline nlohmann::json parse_emf(const std::string& line) {
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);
  const auto report = emf::validate_line(std::string_view(line).substr(0, line.size() - 1));
  INFO(line.substr(0, 400));
  for (const auto& e : report.errors) INFO(e);
  CHECK(report.errors.empty());
  REQUIRE(report.kind == emf::line_kind::emf);
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
  ~capture_reports() {
    fitwatch::flush_reports(std::chrono::seconds(10));
    set_error_handler({});
  }
  // Reports are delivered on fitwatch's diagnostics thread: wait for them.
  std::vector<std::string> all() {
    fitwatch::flush_reports(std::chrono::seconds(10));
    const std::lock_guard<std::mutex> lock(mutex);
    return messages;
  }
  std::mutex mutex;
  std::vector<std::string> messages;
};

// Logger options for a test: lines go to `out` on the calling thread (no
// writer thread to wait for), and no SIGTERM handler is installed.
inline logger_options quiet_options(std::shared_ptr<fitwatch::sink> out,
                                    std::string job_name = "job") {
  logger_options o;
  o.output = std::move(out);
  o.background_writer = false;
  o.flush_on_sigterm = false;
  o.job_name = std::move(job_name);
  return o;
}

// One EMF line of job "j" with the verdict metric OverfittingDetected only,
// as the alarms of templates/overfitting-alerts.yaml read it.
inline std::string verdict_line(std::int64_t ts, double verdict) {
  using nlohmann::json;
  return json{
      {"_aws",
       {{"Timestamp", ts},
        {"CloudWatchMetrics",
         json::array({{{"Namespace", "FitWatch"},
                       {"Dimensions", json::parse(R"([["TrainingJobName"]])")},
                       {"Metrics", json::parse(R"([{"Name":"OverfittingDetected"}])")}}})}}},
      {"TrainingJobName", "j"},
      {"OverfittingDetected", verdict}}
      .dump();
}

// Sets environment variables for the lifetime of the object (each test case
// runs in its own process under ctest).
struct scoped_env {
  explicit scoped_env(std::vector<std::pair<std::string, std::string>> vars) : vars_(vars) {
    for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~scoped_env() {
    for (const auto& [k, v] : vars_) ::unsetenv(k.c_str());
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  std::vector<std::pair<std::string, std::string>> vars_;
};

// The message of the fitwatch::error `f` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fitwatch::error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace fitwatch::test
