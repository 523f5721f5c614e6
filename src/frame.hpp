// Private: how the logger moves one evaluation from the training thread to
// the writer thread. record::take() copies the pending values into a frame
// (binary, no formatting); a serializer on the writer thread turns frames
// into EMF lines. Not installed: only src/ uses them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fitwatch/limits.hpp"
#include "fitwatch/record.hpp"

namespace fitwatch {

/// One evaluation's values, taken out of a record (record::take) so that
/// another thread can serialize them. Reusing a frame reuses its buffers.
class frame {
 public:
  frame();
  ~frame();
  frame(frame&&) noexcept;
  frame& operator=(frame&&) noexcept;
  bool empty() const noexcept { return pending_ == 0; }

 private:
  friend class record;
  friend class serializer;
  std::shared_ptr<const detail::layout> layout_;
  std::int64_t timestamp_ms_ = 0;
  // Values of metric i are values_[offsets_[i] .. offsets_[i+1]): one flat
  // buffer, copied rather than swapped, so that the record's buffers stay in
  // the training thread's cache and the frame's in the writer's.
  std::vector<double> values_;
  std::vector<std::uint32_t> offsets_;
  std::vector<detail::property_value> properties_;
  std::size_t pending_ = 0;
};

/// Turns frames into EMF lines of at most `max_line_bytes` bytes each
/// (newline included). The metrics of one evaluation are packed into as few
/// lines as fit, each line carrying the namespace, dimensions, timestamp and
/// the properties kept (see record.hpp); a metric whose values do not fit in
/// one line has them spread over several. Keeps its buffers, so that a
/// steady loop serializes without allocating.
/// Thread safety: one serializer per thread.
class serializer {
 public:
  explicit serializer(std::size_t max_line_bytes = limits::max_event_bytes) noexcept
      : max_line_(max_line_bytes) {}
  /// Calls `out` once per EMF line of the frame (each line ends with '\n').
  void write(const frame& f, const std::function<void(std::string_view)>& out);

 private:
  void select_properties(const frame& f, std::size_t fixed);
  void format_values(const frame& f, std::uint32_t index, std::size_t first, std::size_t last);
  void emit_line(const frame& f, const std::function<void(std::string_view)>& out);
  void emit_split(const frame& f, std::uint32_t index, std::size_t first, std::size_t last,
                  const std::function<void(std::string_view)>& out);

  std::size_t max_line_;
  std::size_t base_ = 0;  // bytes of a line without its metrics, less one
  std::string timestamp_;
  std::string properties_;  // ,"p":v,... of the properties that fit
  std::vector<std::uint32_t> present_;
  std::vector<std::uint32_t> group_;  // the metrics of the line being filled
  std::vector<std::string> values_;   // per metric: its values in this round, as JSON
  std::string line_;
};

namespace detail {

/// The logger's access to record::take().
struct record_access {
  static bool take(record& r, frame& f, std::int64_t timestamp_ms) noexcept {
    return r.take(f, timestamp_ms);
  }
};

}  // namespace detail
}  // namespace fitwatch
