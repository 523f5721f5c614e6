#include "fitwatch/logger.hpp"

#include <chrono>

#include "fitwatch/error.hpp"
#include "sigterm.hpp"

namespace fitwatch {
namespace {

std::int64_t now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

logger::logger(logger_options options)
    : options_(std::move(options)),
      env_(read_sagemaker_environment()),
      record_(options_.namespace_name) {
  job_name_ = !env_.job_name.empty()       ? env_.job_name
              : !options_.job_name.empty() ? options_.job_name
                                           : std::string("local");
  if (options_.default_dimensions) {
    record_.set_dimensions({{{"TrainingJobName", job_name_}}});
    if (!env_.current_host.empty()) record_.set(record_.property("Host"), env_.current_host);
  } else {
    record_.set_dimensions({});
  }
  sink_ = options_.output ? options_.output : std::make_shared<async_sink>(stdout_sink());
  if (options_.flush_on_sigterm) detail::flush_on_sigterm(sink_.get(), options_.sigterm_timeout);
}

logger::~logger() {
  flush();
  drain(options_.shutdown_timeout);
  if (options_.flush_on_sigterm) detail::forget_on_sigterm(sink_.get());
}

metric_id logger::metric(std::string_view name, unit u, resolution r) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return record_.metric(name, u, r);
}

property_id logger::property(std::string_view name) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return record_.property(name);
}

void logger::set_dimensions(const std::vector<dimension_set>& sets) {
  const std::lock_guard<std::mutex> lock(mutex_);
  record_.set_dimensions(sets);
}

void logger::add_dimensions(const dimension_set& set) {
  const std::lock_guard<std::mutex> lock(mutex_);
  record_.add_dimensions(set);
}

void logger::put(metric_id id, double value) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  record_.put(id, value);
}

void logger::set(property_id id, double value) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  record_.set(id, value);
}

void logger::set(property_id id, std::int64_t value) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  record_.set(id, value);
}

void logger::set(property_id id, bool value) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  record_.set(id, value);
}

void logger::set(property_id id, std::string_view value) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  record_.set(id, value);
}

void logger::flush() noexcept {
  flush_at(now_ms());
}

void logger::flush_at(std::int64_t timestamp_ms) noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  try {
    record_.serialize(timestamp_ms, [this](std::string_view line) { sink_->write(line); });
  } catch (...) {
    // serialize only throws if memory runs out; the values are lost, the
    // training goes on.
  }
}

bool logger::drain(std::chrono::milliseconds timeout) noexcept {
  return sink_->flush(timeout);
}

std::uint64_t logger::dropped_values() const noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  return record_.dropped_values();
}

}  // namespace fitwatch
