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

/// Turns frames into EMF lines. Keeps its buffers and the directive of the
/// last layout, so that a steady loop serializes without allocating.
/// Thread safety: one serializer per thread.
class serializer {
 public:
  /// Calls `out` once per EMF event of the frame (each line ends with '\n').
  void write(const frame& f, const std::function<void(std::string_view)>& out);

 private:
  void write_event(const frame& f, std::size_t round);
  std::shared_ptr<const detail::layout> cached_layout_;
  std::vector<std::uint32_t> cached_chunk_;
  std::string prefix_;  // {"_aws":{"CloudWatchMetrics":[...],"Timestamp":
  std::vector<std::uint32_t> present_;
  std::vector<std::uint32_t> chunk_;
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
