// fitwatch: the overfitting monitor (detector + logger) and the metric schema.
//
// monitor::observe() runs the detector on one evaluation and writes the raw
// losses and the detector's signals as one EMF line, so a reader sees raw
// and derived values side by side. A monitored metric other than the
// validation loss (detector_options::monitor, e.g. val_f1 with mode max) is
// written under its own name, its best under "Best" + name; the signals the
// alarms read keep their names (docs/detector.md, "Any metric"). The metrics it writes are declared
// once, in signal_metrics below; `fitwatch schema` prints them, and the templates' alarms must
// watch exactly these (a test checks it).
//
// \code
//   fitwatch::logger log;
//   fitwatch::monitor mon{log};
//   for (int epoch = 1; epoch <= epochs; ++epoch) {
//     mon.observe(epoch, {train_loss, val_loss, train_acc, val_acc});
//     if (mon.should_stop()) break;
//   }
// \endcode
//
// Thread safety: one monitor per training loop; it calls the logger, which
// is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fitwatch/detector.hpp"
#include "fitwatch/logger.hpp"

namespace fitwatch {

/// One metric fitwatch emits.
struct metric_spec {
  std::string_view name;
  unit unit_;
  resolution resolution_;
  std::string_view description;
};

/// Every metric the monitor emits, in the order of the line. All are high
/// resolution (1 s), so that 10-second alarms can read them.
inline constexpr std::array<metric_spec, 12> signal_metrics = {{
    {"TrainLoss", unit::none, resolution::high, "training loss of the evaluation"},
    {"ValidationLoss", unit::none, resolution::high, "validation loss of the evaluation"},
    {"TrainAccuracy", unit::none, resolution::high, "training accuracy, if reported"},
    {"ValidationAccuracy", unit::none, resolution::high, "validation accuracy, if reported"},
    {"GeneralizationGap", unit::none, resolution::high, "validation loss - training loss"},
    {"GeneralizationGapRatio", unit::none, resolution::high,
     "(validation - training) / training (SageMaker Debugger Overfit)"},
    {"GeneralizationLoss", unit::percent, resolution::high,
     "percent of the validation loss above its best (Prechelt GL)"},
    {"ValidationLossRiseStreak", unit::count, resolution::high,
     "consecutive evaluations the validation loss rose"},
    {"EvaluationsSinceBest", unit::count, resolution::high,
     "evaluations since the best validation loss (Keras patience counter)"},
    {"BestValidationLoss", unit::none, resolution::high, "best validation loss so far"},
    {"OverfittingDetected", unit::none, resolution::high,
     "1 once the detector's verdict is overfitting, until a new best"},
    {"TrainingDiverged", unit::none, resolution::high, "1 once a loss was NaN/Inf or too large"},
}};

/// Properties written on every line (not metrics).
inline constexpr std::string_view epoch_property = "Epoch";
inline constexpr std::string_view best_epoch_property = "BestEpoch";
inline constexpr std::string_view reason_property = "OverfittingReason";

/// The name the best value of the monitored metric is written under:
/// "Best" + monitor (BestValidationLoss by default, Bestval_f1 for val_f1).
std::string best_metric_name(std::string_view monitor);

/// Checks a monitored metric's name (detector_options::monitor) as the
/// monitor will write it: a valid CloudWatch metric name, as is "Best" +
/// name, and, unless it is the default ValidationLoss, not a name the line
/// already holds (a metric of signal_metrics, a property, TrainingJobName).
/// \throw error naming it.
void check_monitor_name(std::string_view name);

/// The schema as JSON text: namespace, dimension sets, metrics, properties,
/// and the monitored metric (`options.monitor`, `options.mode`): a named
/// metric is written under its name and its best under best_metric_name();
/// every other metric keeps its name, so the templates' alarms read the same
/// signals whatever the metric.
std::string schema_json(std::string_view namespace_name = default_namespace,
                        const detector_options& options = {});

class monitor {
 public:
  /// Declares the signal metrics on `log` (which must outlive the monitor),
  /// and the monitored metric if it is not the validation loss.
  /// \throw error if a name clashes with one the program declared, or on
  /// invalid options (see detector and check_monitor_name()).
  explicit monitor(logger& log, detector_options options = {});

  /// Runs the detector on one evaluation and writes one EMF line.
  const signals& observe(std::int64_t epoch, const evaluation& e);
  /// As observe(), with the line stamped at `timestamp_ms`.
  const signals& observe_at(std::int64_t epoch, const evaluation& e, std::int64_t timestamp_ms);

  bool should_stop() const noexcept { return detector_.should_stop(); }
  /// The epoch of the best validation loss so far (the line's BestEpoch).
  std::int64_t best_epoch() const noexcept { return best_epoch_value_; }
  const detector& get_detector() const noexcept { return detector_; }

  /// The detector's state and the best epoch, as JSON text (see
  /// detector::save_state()): save it with a checkpoint.
  std::string save_state() const;
  /// Puts a saved state back; unchanged if it throws.
  /// \throw error as detector::restore_state(), or on a malformed best epoch.
  void restore_state(std::string_view state);

 private:
  void record(std::int64_t epoch, const evaluation& e);
  logger& log_;
  detector detector_;
  std::array<metric_id, signal_metrics.size()> ids_{};
  std::optional<metric_id> monitored_;  // a named monitored metric
  property_id epoch_{}, best_epoch_{}, reason_{};
  std::int64_t best_epoch_value_ = 0;
};

}  // namespace fitwatch
