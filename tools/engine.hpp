// The alarm engine behind `fitwatch replay` and `fitwatch watch`: metrics
// extracted from EMF lines exactly as CloudWatch does, aggregated per alarm
// period and statistic, and the template's alarms evaluated on a simulated
// clock that ticks like CloudWatch's evaluator (every minute; every 10 s for
// 10/20/30-second periods), with CloudWatch's missing-data rules. See
// docs/replay.md for the semantics and their sources.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "emf_validate.hpp"
#include "template.hpp"

namespace fitwatch::tools {

enum class alarm_state { ok, alarm, insufficient_data };
std::string to_string(alarm_state s);

/// A sample of a metric: when, what, and where it came from.
struct sample {
  std::int64_t timestamp_ms = 0;
  double value = 0;
  std::size_t line = 0;
  std::optional<std::int64_t> epoch;  ///< the line's Epoch property
};

/// Every metric series of a log: namespace + name + the full dimension set.
class metric_store {
 public:
  /// Adds the datapoints of one valid EMF event.
  void add(const extracted_event& event, std::size_t line);
  /// Validates a line as CloudWatch Logs would and adds its datapoints;
  /// returns the report (invalid and plain lines add nothing).
  line_report add_line(std::string_view line, std::size_t number,
                       const std::function<bool(std::string_view, std::string_view)>& wanted = {});
  /// The series with exactly these dimensions (any order), or nullptr.
  const std::vector<sample>* find(const std::string& ns, const std::string& name,
                                  std::vector<std::pair<std::string, std::string>> dims) const;
  /// Series of `ns`/`name` whose dimension names are exactly `names`:
  /// (dimension values, samples).
  std::vector<std::pair<std::map<std::string, std::string>, const std::vector<sample>*>>
  with_dimensions(const std::string& ns, const std::string& name,
                  std::vector<std::string> names) const;
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
  extracted_event scratch_;
  std::optional<std::int64_t> first_, last_;
  std::size_t datapoints_ = 0;
};

/// A statistic of the samples in one period ("Maximum", "p90", ...).
/// \throw template_error for an unknown statistic.
std::optional<double> statistic(const std::string& stat, const std::vector<double>& values);

struct transition {
  std::int64_t time_ms = 0;
  std::string alarm_name, alarm_arn;
  bool composite = false;
  alarm_state old_state, new_state;
  std::string reason;
  std::optional<std::int64_t> epoch;
  std::vector<std::string> actions;  ///< the action ARNs this transition runs
  // For the email: the alarm; `metric` or `composite_alarm_` says which kind.
  const alarm_common* alarm = nullptr;
  const metric_alarm* metric = nullptr;
  const composite_alarm* composite_alarm_ = nullptr;
  std::vector<std::string> triggering_children;  ///< composite: "<arn> transitioned to ..."
  std::string contributor;                       ///< Metrics Insights: the group value
};

class engine {
 public:
  /// \throw template_error for an alarm the engine cannot evaluate.
  explicit engine(const template_model& model);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  metric_store& store() { return store_; }
  /// True if some alarm reads metric `name` of namespace `ns`: only those
  /// are kept when reading a log.
  bool wants(std::string_view ns, std::string_view name) const;
  /// Evaluates every tick up to and including `time_ms`; returns the
  /// transitions in order.
  std::vector<transition> advance_to(std::int64_t time_ms);
  /// The first tick at which every alarm has evaluated the period holding
  /// `time_ms` (the end of a replay with --tail 0).
  std::int64_t settled_after(std::int64_t time_ms) const;
  /// The longest evaluation range of any alarm, in ms (the default tail).
  std::int64_t longest_range_ms() const;
  /// The next tick after the last one evaluated.
  std::optional<std::int64_t> clock() const { return clock_; }
  alarm_state state_of(const std::string& alarm_name) const;

 private:
  struct metric_state;
  struct composite_state;
  void tick(std::int64_t t, std::vector<transition>& out);

  const template_model& model_;
  metric_store store_;
  std::vector<std::unique_ptr<metric_state>> metrics_;
  std::vector<std::unique_ptr<composite_state>> composites_;
  std::optional<std::int64_t> clock_;  ///< last tick evaluated
  std::int64_t step_ms_ = 60000;
  std::vector<std::pair<std::string, std::string>> wanted_;  // (namespace, metric), few
};

/// CloudWatch's way of writing a number in alarm text: like Java's
/// Double.toString (1.0, 0.25, 1.0E-4).
std::string java_double(double v);
/// "Sunday 15 June, 2025 12:07:17 UTC"
std::string email_time(std::int64_t ms);
/// "15/06/25 12:02:00"
std::string datapoint_time(std::int64_t ms);

}  // namespace fitwatch::tools
