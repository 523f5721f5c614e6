// fitwatch: the EMF record model and serializer.
//
// A record holds what one evaluation reports: a namespace, dimension sets,
// metric definitions (name, unit, storage resolution) with their values, and
// properties (epoch, learning rate, ...) as plain top-level members. serialize()
// turns the pending values into CloudWatch Embedded Metric Format lines:
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
//
// \code
//   fitwatch::record r{"MyTraining"};
//   r.set_dimensions({{{"TrainingJobName", "job-1"}}});
//   auto loss = r.metric("ValidationLoss", fitwatch::unit::none, fitwatch::resolution::high);
//   auto epoch = r.property("epoch");
//   r.set(epoch, std::int64_t{3});
//   r.put(loss, 0.42);
//   r.serialize(1700000000000, [](std::string_view line) {
//     std::fwrite(line.data(), 1, line.size(), stdout);  // a string_view is not 0-terminated
//   });
// \endcode
//
// Limits are kept by splitting, never by losing metric values: more than 100
// metrics with values, or more than 100 values in one metric, give several
// events (lines), each carrying the dimensions, timestamp and properties.
// serialize() keeps each line at most 1 MB (the EMF event limit); a logger
// keeps its lines at most logger_options::max_line_bytes (PIPE_BUF, 4096, by
// default) and splits the metrics of one evaluation over as many lines as
// that takes. Properties may take at most half of what a line leaves after
// the namespace, dimensions and timestamp, the other half being for metrics:
// in declaration order, a property that would exceed that budget is left
// out of every line of that evaluation and reported (metrics never give
// way to properties).
//
// Bad values: NaN, +Inf and -Inf are dropped by put() (CloudWatch rejects
// them, and JSON cannot carry them), counted in dropped_values(), and
// reported through the error handler at most once a second. Invalid UTF-8 in
// a string property is written as U+FFFD; it never throws. A string property
// over limits::max_property_bytes is cut at a UTF-8 boundary and reported.
//
// Thread safety: none; a record belongs to one thread at a time. The logger
// wraps one with a mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "fitwatch/unit.hpp"

namespace fitwatch {

/// A declared metric of a record or logger; cheap to copy.
struct metric_id {
  std::uint32_t index;
};

/// A declared property of a record or logger; cheap to copy.
struct property_id {
  std::uint32_t index;
};

/// One dimension of a dimension set.
struct dimension {
  std::string name;
  std::string value;
};

/// The dimensions CloudWatch aggregates a metric by, all together.
using dimension_set = std::vector<dimension>;

namespace detail {
struct layout;
using property_value = std::variant<std::monostate, double, std::int64_t, bool, std::string>;
}  // namespace detail

class frame;  // one evaluation's values in transit to the writer (src/frame.hpp)
namespace detail {
struct record_access;
}  // namespace detail

class record {
 public:
  /// \throw error on an invalid namespace.
  explicit record(std::string_view ns);

  const std::string& namespace_name() const noexcept { return namespace_; }

  /// Replaces every dimension set. An empty list means no dimensions (one
  /// empty dimension set, as EMF allows). A dimension named in several sets
  /// must have one value.
  /// \throw error on an invalid name or value, more than 30 names in a set,
  /// or a name already used by a metric or property.
  void set_dimensions(const std::vector<dimension_set>& sets);
  /// Adds one dimension set to those there are. \throw error as set_dimensions.
  void add_dimensions(const dimension_set& set);
  /// The dimension sets, in order.
  const std::vector<dimension_set>& dimension_sets() const noexcept { return sets_; }

  /// Declares a metric, or returns the one already declared with that name.
  /// \throw error on an invalid name, a name used by a dimension or property,
  /// or the same name declared again with another unit or resolution.
  metric_id metric(std::string_view name, unit u = unit::none, resolution r = resolution::standard);

  /// Declares a property (a plain top-level member, not a metric), or returns
  /// the one already declared. \throw error on an empty, over-long or
  /// non-UTF-8 name, "_aws", or a name used by a dimension or metric.
  property_id property(std::string_view name);

  /// Adds a value to the metric. Returns false, and counts it, if the value
  /// is not finite or the id is not one of this record's.
  bool put(metric_id id, double value) noexcept;

  /// Sets a property; it keeps its value across serialize() calls.
  void set(property_id id, double value) noexcept;
  void set(property_id id, std::int64_t value) noexcept;
  void set(property_id id, bool value) noexcept;
  void set(property_id id, std::string_view value) noexcept;
  void set(property_id id, const char* value) noexcept { set(id, std::string_view{value}); }
  /// Removes a property's value, so that it is no longer written.
  void unset(property_id id) noexcept;

  /// True if no metric has a pending value.
  bool empty() const noexcept { return pending_ == 0; }
  /// Drops the pending values.
  void discard() noexcept;

  /// Writes the pending values as EMF events, one call of `out` per event
  /// (each line ends with '\n'), and clears them. Nothing is written when no
  /// metric has a value. A negative timestamp_ms is reported and replaced by
  /// the current time (EMF's Timestamp is ms since the epoch, never negative).
  void serialize(std::int64_t timestamp_ms, const std::function<void(std::string_view)>& out);

  /// Values dropped because they were not finite (or had a foreign id).
  std::uint64_t dropped_values() const noexcept { return dropped_values_; }

  record(record&&) noexcept;
  record& operator=(record&&) noexcept;
  ~record();

 private:
  friend struct detail::record_access;  // the logger's way to take()
  struct serialize_buffers;
  /// Moves the pending values, and a copy of the properties, into `f`,
  /// stamped with the time; returns false (and leaves `f` alone) if nothing
  /// is pending. Once `f` has been used, allocates nothing.
  bool take(frame& f, std::int64_t timestamp_ms) noexcept;

  enum class member_kind : std::uint8_t { dimension, metric, property };
  struct metric_decl {
    std::string name;
    unit unit_;
    resolution resolution_;
  };

  void claim(const std::string& name, member_kind kind);
  void rebuild_layout();

  std::string namespace_;
  std::vector<dimension_set> sets_;
  std::unordered_map<std::string, member_kind> members_;
  std::vector<metric_decl> metrics_;
  std::unordered_map<std::string, std::uint32_t> metric_index_;
  std::vector<std::string> property_names_;
  std::unordered_map<std::string, std::uint32_t> property_index_;
  std::shared_ptr<const detail::layout> layout_;

  std::vector<std::vector<double>> values_;  // per metric, pending
  std::vector<detail::property_value> properties_;
  std::size_t pending_ = 0;
  std::uint64_t dropped_values_ = 0;

  std::unique_ptr<serialize_buffers> buffers_;  // for serialize(), made on first use
};

}  // namespace fitwatch
