// Every metric series of a log, as CloudWatch stores them: a metric is
// namespace + name + the full dimension set, and each EMF value is one
// sample.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Metric
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "emf/inspect.hpp"

namespace fitwatch::alarms {

/// A sample of a metric: when, what, and where it came from.
struct sample {
  std::int64_t timestamp_ms = 0;
  double value = 0;
  std::size_t line = 0;
  std::optional<std::int64_t> epoch;  ///< the line's Epoch property
};

class metric_store {
 public:
  /// Adds the datapoints of one valid EMF event; false (nothing added) if
  /// its timestamp is after `max_time_ms` (year 9999), which no alarm can
  /// evaluate.
  bool add(const emf::extracted_event& event, std::size_t line);
  /// Validates a line as CloudWatch Logs would and adds its datapoints;
  /// returns the report (invalid and plain lines add nothing).
  emf::line_report add_line(
      std::string_view line, std::size_t number,
      const std::function<bool(std::string_view, std::string_view)>& wanted = {});
  /// The series with exactly these dimensions (any order), or nullptr.
  const std::vector<sample>* find(const std::string& ns, const std::string& name,
                                  std::vector<std::pair<std::string, std::string>> dims) const;
  /// Series of `ns`/`name` whose dimension names are exactly `names`:
  /// (dimension values, samples).
  std::vector<std::pair<std::map<std::string, std::string>, const std::vector<sample>*>>
  with_dimensions(const std::string& ns, const std::string& name,
                  std::vector<std::string> names) const;
  /// The dimensions of every series of `ns`/`name`, in no order (what the
  /// log holds when an alarm finds none of its own: cli/diagnose.cpp).
  std::vector<std::map<std::string, std::string>> dimension_sets(const std::string& ns,
                                                                 const std::string& name) const;
  /// Forgets every sample older than `time_ms` (what no evaluation will
  /// read again); first/last timestamps and datapoints() are unchanged.
  /// Amortised: a series is compacted once its dead samples are at least
  /// half of it, so samples() stays within twice the live ones.
  void forget_before(std::int64_t time_ms);
  /// The earliest sample at or after `time_ms` in any series, if any.
  std::optional<std::int64_t> next_timestamp(std::int64_t time_ms) const;
  /// Samples held now (datapoints() counts all ever added).
  std::size_t samples() const { return held_; }
  std::optional<std::int64_t> last_timestamp() const { return last_; }
  std::optional<std::int64_t> first_timestamp() const { return first_; }
  std::size_t datapoints() const { return datapoints_; }
  std::size_t series_count() const { return series_.size(); }

 private:
  struct series {
    std::string ns, name;
    std::map<std::string, std::string> dims;
    std::vector<sample> samples;
  };
  std::unordered_map<std::string, series> series_;
  std::string key_;  // scratch
  emf::extracted_event scratch_;
  std::optional<std::int64_t> first_, last_;
  std::size_t datapoints_ = 0, held_ = 0;
};

}  // namespace fitwatch::alarms
