// The EMF conformance check behind `fitwatch validate`, also used by the
// test suite on every line the library writes.
//
// It classifies a log line the way CloudWatch Logs does: a line that is not
// a JSON object with an `_aws` member is a plain log line; a line with `_aws`
// that breaks a rule of the EMF specification is an invalid EMF event
// (CloudWatch would count it in AWS/Logs EMFValidationErrors and extract no
// metric); otherwise it is an EMF event and its datapoints are counted.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
// Lines are parsed with simdjson: replay reads logs of millions of lines.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fitwatch::emf {

enum class line_kind { plain, emf, invalid };

struct line_report {
  line_kind kind = line_kind::plain;
  std::vector<std::string> errors;  ///< why the line is invalid
  std::size_t metrics = 0;          ///< metric series (directive x dimension set x metric)
  std::size_t datapoints = 0;       ///< values extracted
};

/// One metric series of a valid event: namespace + name + the full
/// dimension set (sorted by name), and its values.
struct extracted_series {
  std::string ns, name;
  std::vector<std::pair<std::string, std::string>> dimensions;
  std::vector<double> values;
};

/// Metric names a caller reads by position rather than by name (the
/// report reads nine on every line): validate_line's `picks`. Every metric
/// of every line is looked up here, so the names are indexed by length:
/// a lookup compares the characters of at most the picks of that length.
class metric_picks {
 public:
  /// `names` must outlive the picks (string literals, as a rule).
  explicit metric_picks(std::vector<std::string_view> names);
  std::size_t size() const { return names_.size(); }
  std::string_view operator[](std::size_t i) const { return names_[i]; }
  /// The position of `name` among the picks, or size() if it is none.
  std::size_t find(std::string_view name) const {
    if (name.size() >= by_length_.size()) return size();
    for (auto i = by_length_[name.size()]; i != none; i = next_[i])
      if (names_[i] == name) return i;
    return size();
  }

 private:
  static constexpr std::uint16_t none = 0xFFFF;
  std::vector<std::string_view> names_;
  std::vector<std::uint16_t> by_length_;  // the first pick of each length
  std::vector<std::uint16_t> next_;       // the next pick of the same length
};

/// One value of a picked metric: which name of the picks, in which of the
/// event's dimension sets, and its last value (of an array, the last).
struct picked_value {
  std::size_t pick = 0;  ///< index into the picks
  std::size_t set = 0;   ///< index into extracted_event::dimension_sets
  double value = 0;
};

/// The datapoints of a valid EMF event, as CloudWatch extracts them: every
/// directive, every dimension set, every value of an array.
struct extracted_event {
  std::int64_t timestamp_ms = 0;
  std::optional<std::int64_t> epoch;  ///< the event's Epoch property, if a number
  /// The event's OverfittingReason property, if a string and the event was
  /// read with picks (the report's reading); else empty.
  std::string reason;
  std::vector<extracted_series> series;
  /// Every dimension set of every directive, each sorted by name (a
  /// directive without one has one empty set).
  std::vector<std::vector<std::pair<std::string, std::string>>> dimension_sets;
  /// The picks the event was read with (null: none), and the values of
  /// those metrics, one per dimension set, in the order of the event;
  /// metrics with an empty array are left out. No name is copied.
  const metric_picks* picks = nullptr;
  std::vector<picked_value> picked;
};

/// Options of the check (none yet). Whether CloudWatch Logs takes an
/// event at all, given its timestamp, is the log's business, not the
/// line's: alarms/log_clock.hpp.
struct validate_options {};

/// Checks one line (without its newline).
line_report validate_line(std::string_view line, const validate_options& options = {});

/// As above; for a valid EMF event also fills `out` (when not null) with its
/// datapoints, keeping only metrics for which `wanted(ns, name)` is true
/// (all when `wanted` is empty), and with the values of the metrics named
/// in `picks` (any namespace; `picks` must outlive `out`'s use of it).
line_report validate_line(
    std::string_view line, const validate_options& options, extracted_event* out,
    const std::function<bool(std::string_view, std::string_view)>& wanted = {},
    const metric_picks* picks = nullptr);

}  // namespace fitwatch::emf
