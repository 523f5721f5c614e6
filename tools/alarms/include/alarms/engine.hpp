// The alarm engine behind `fitwatch replay` and `fitwatch watch`: metrics
// extracted from EMF lines exactly as CloudWatch does, aggregated per alarm
// period and statistic, and the template's alarms evaluated on a simulated
// clock that ticks like CloudWatch's evaluator (every minute; every 10 s for
// 10/20/30-second periods), with CloudWatch's missing-data rules. See
// docs/replay.md for the semantics and their sources.
//
// \code
//   fitwatch::alarms::engine e{model};            // checks every alarm now
//   e.store().add_line(line, number);            // for each log line
//   for (const auto& t : e.advance_to(now_ms)) ...  // state changes, in order
// \endcode
//
// Thread safety: none; one engine per replay.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alarms/metric_store.hpp"
#include "alarms/missing_data.hpp"
#include "alarms/model.hpp"
#include "alarms/transition.hpp"

namespace fitwatch::alarms {

/// Metrics Insights alarms: at most this many contributors in ALARM are
/// counted in a reason ("100+"), and a query reads at most this many time
/// series; beyond, the alarm evaluates partial data (the first 500 in the
/// query's order). https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html
inline constexpr std::size_t max_reported_contributors = 100;
inline constexpr std::size_t max_insights_series = 500;

class engine {
 public:
  /// Checks every alarm of `model` (which must outlive the engine).
  /// \throw alarm_error for an alarm the engine cannot evaluate or that
  /// CloudWatch would reject (a Threshold that is not finite, Period x
  /// EvaluationPeriods over 1 day, or 7 days for periods of an hour or more).
  explicit engine(const template_model& model);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  metric_store& store() { return store_; }
  /// True if some alarm reads metric `name` of namespace `ns`: only those
  /// are kept when reading a log.
  bool wants(std::string_view ns, std::string_view name) const;
  /// Evaluates every tick up to and including `time_ms` (at most
  /// `max_time_ms`); returns the transitions in order. Empty time costs
  /// nothing: once no alarm has data left in its range and each has
  /// evaluated that, the clock jumps to the next sample. Samples that no
  /// later tick reads (older than lookback_ms()) are forgotten, so a live
  /// log is held in memory bounded by the alarms' ranges, not its length.
  std::vector<transition> advance_to(std::int64_t time_ms);
  /// The first tick at which every alarm has evaluated the period holding
  /// `time_ms` (the end of a replay with --tail 0).
  std::int64_t settled_after(std::int64_t time_ms) const;
  /// The longest evaluation range of any alarm, in ms (the default tail).
  std::int64_t longest_range_ms() const;
  /// How far before a tick an evaluation reads: the longest evaluation
  /// range plus the history of metric math and one period of alignment.
  std::int64_t lookback_ms() const { return lookback_ms_; }
  /// Ticks evaluated so far (the ticks jumped over are not).
  std::size_t evaluated_ticks() const { return evaluated_ticks_; }
  /// The next tick after the last one evaluated.
  std::optional<std::int64_t> clock() const { return clock_; }
  alarm_state state_of(const std::string& alarm_name) const;

 private:
  struct metric_state;
  struct composite_state;
  void tick(std::int64_t t, std::vector<transition>& out);
  void evaluate_metric(metric_state& ms, std::int64_t t, std::vector<transition>& out);
  // The evaluation range of a single-metric or a metric-math alarm, into ms.range.
  void single_range(metric_state& ms, std::int64_t first_start, std::size_t count);
  void math_range(metric_state& ms, std::int64_t first_start, std::size_t count);
  // A Metrics Insights alarm: each contributor decided (its transitions
  // into `out`), then the alarm.
  decision insights_decision(metric_state& ms, std::int64_t t, std::int64_t first_start,
                             std::size_t count, std::string& contributors,
                             std::vector<transition>& out);
  void evaluate_composites(std::int64_t t, std::vector<transition>& out);

  const template_model& model_;
  metric_store store_;
  std::vector<std::unique_ptr<metric_state>> metrics_;
  std::vector<std::unique_ptr<composite_state>> composites_;
  std::optional<std::int64_t> clock_;  ///< last tick evaluated
  std::int64_t step_ms_ = 60000;
  std::int64_t lookback_ms_ = 0;
  std::size_t evaluated_ticks_ = 0;
  bool settled_ = false;  ///< every alarm has evaluated an empty range since the last sample
  std::vector<std::pair<std::string, std::string>> wanted_;  // (namespace, metric), few
};

}  // namespace fitwatch::alarms
