// fitwatch: the overfitting detector.
//
// Fed once per evaluation with the training and validation loss, the
// detector keeps the state and turns the classic early-stopping rules into
// plain numbers an alarm can threshold (see docs/detector.md):
//
//   gap            = validation loss - training loss
//   gap ratio      = (validation - training) / training   (SageMaker Debugger "Overfit")
//   rise streak    = consecutive evaluations whose validation loss rose by more
//                    than min_delta (the classic rule: three rises in a row)
//   since best     = evaluations since the best validation loss, with Keras /
//                    Lightning semantics: improvement iff current + |min_delta| < best
//   generalization loss = 100 * (validation - best) / |best|   (Prechelt's GL, in %,
//                    for losses of any sign; 0 while the best is exactly 0)
//   noise          = robust standard deviation of the epoch-to-epoch change of
//                    the validation loss (median absolute difference over the
//                    last 15 evaluations x 1.4826 / sqrt 2)
//   training trend = t statistic of the least-squares slope of the last
//                    training losses (negative while the model still learns
//                    the training set)
//   diverged       = a loss is NaN/Inf, or above divergence_threshold
//   overfitting    = the verdict of the enabled rules, latched until a new best
//
// The "validation loss" above is the monitored metric (detector_options::
// monitor, the validation loss by default); with mode max (accuracy, F1,
// AUC: higher is better) the rules read it negated, so "rose" and "above
// its best" mean "got worse" and "worse than its best" either way.
//
// \code
//   fitwatch::detector d;                       // documented defaults
//   for (int epoch = 0; ...; ++epoch) {
//     const auto& s = d.update({train_loss, val_loss});
//     if (s.overfitting) std::cerr << s.reason << "\n";
//     if (d.should_stop()) break;
//   }
// \endcode
//
// Thread safety: none; a detector belongs to one training loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fitwatch {

/// Whether lower (a loss) or higher (accuracy, F1, AUC) values of the
/// monitored validation metric are better.
enum class direction : std::uint8_t { min, max };

/// The name of the monitored metric by default: the validation loss.
inline constexpr std::string_view default_monitor = "ValidationLoss";

/// The rules and their thresholds. Defaults are documented in docs/detector.md.
struct detector_options {
  /// The validation metric the rules read: `ValidationLoss` (the default)
  /// reads evaluation::validation_loss; any other name reads
  /// evaluation::metric and is the name the monitor writes it under. The
  /// reasons name it. \throw error (detector) if not a valid metric name.
  std::string monitor{default_monitor};
  /// Whether lower (min, a loss) or higher (max) values of it are better.
  /// With max the rules read the negated metric: "above its best", a rise,
  /// the generalization loss and the rise streak all mean "worse than its
  /// best", below it.
  direction mode = direction::min;
  /// A change smaller than this is neither an improvement nor a rise.
  double min_delta = 0.0;
  /// Evaluations ignored by every rule (signals are still computed).
  std::size_t warmup = 5;
  /// Exponential smoothing of the validation loss the rules read:
  /// s = alpha * v + (1 - alpha) * s_prev. 1 = no smoothing.
  double smoothing = 0.5;

  /// The noise unit of every rule: the robust standard deviation of the
  /// change per evaluation. With noise_detrend, of the change less its
  /// median (a steady trend is not noise: a rise does not widen the unit it
  /// is measured in); without, of the change itself.
  bool noise_detrend = true;

  /// Rule "generalization loss": the (smoothed) validation loss more than
  /// this many percent of |best|, and more than `gl_noise_units` noise units,
  /// above its best, for `gl_confirm` evaluations in a row, and at least
  /// `gl_min_since_best` evaluations after the best. 0 disables it.
  /// Defaults chosen on the tuning half of the corpora (docs/benchmarks.md).
  double gl_threshold = 3.0;
  std::size_t gl_confirm = 1;
  std::size_t gl_min_since_best = 3;
  /// The GL rule's noise floor, in noise units of the smoothed loss
  /// (noise x sqrt(smoothing / (2 - smoothing))). 0 = percent only.
  double gl_noise_units = 3.0;
  /// Rule "jump": one raw validation loss more than this many noise units
  /// and more than `gl_threshold` percent above the best (smoothed)
  /// validation loss, any evaluation after the best. Catches a sharp upturn in
  /// the last evaluations of a run, before the smoothed rule can confirm it.
  /// Needs 6 earlier changes to estimate the noise. 0 disables it.
  double jump_sigmas = 0;
  /// Rule "trend": the last `trend_window` raw validation losses, from the
  /// best evaluation on, have a least-squares slope more than `trend_t`
  /// standard errors above zero, and the smoothed loss is more than
  /// `trend_min_gl` percent above its best. Catches a slow, steady rise that
  /// stays under `gl_threshold`. 0 disables it; the window is at most 16.
  std::size_t trend_window = 8;
  double trend_t = 2.0;
  double trend_min_gl = 1.0;
  /// "The training loss still falls": the three rules above (GL, jump,
  /// trend) fire only while the least-squares slope of the last training
  /// losses (from the best evaluation on, at least `train_window` and at
  /// most 16 of them) is more than `train_falling_t` standard errors below
  /// zero. Overfitting is the validation loss rising while the training
  /// loss falls; a plateau of both is not. 0 disables the condition.
  double train_falling_t = 5.0;
  std::size_t train_window = 4;
  /// ...or while the smoothed validation loss is more than this many noise
  /// units above its best (and the GL rule's conditions hold): a rise that
  /// far beyond the noise is worth an email whatever the training loss does
  /// (a model that gets worse on everything). 0 = never.
  double strong_rise_units = 0;
  /// ...or while it is more than this many percent of |best| above its best
  /// (and the GL rule's conditions hold): a rise too large for any noise,
  /// where the noise unit is itself large (a validation loss that jumps by
  /// tens of percent from one evaluation to the next and climbs far above
  /// its best while the training loss is flat: issue #24). 0 = never.
  double strong_rise_percent = 200;
  /// ...for this many evaluations in a row (either escape): a sustained
  /// rise beyond the noise is never muted by the training loss.
  std::size_t strong_rise_confirm = 2;
  /// Rule "window": the mean of the last `window_size` raw validation losses
  /// is more than `window_units` noise units of such a mean (noise x
  /// sqrt(2 / window_size)) and more than `gl_threshold` percent above the
  /// lowest mean of `window_size` consecutive losses so far, a window that
  /// ended at least `window_size` evaluations earlier. It reads the level of
  /// the run against its best level, not its best single value (which on a
  /// noisy curve is its luckiest evaluation), and fires whatever the
  /// training loss does: a sustained rise is never muted. 0 disables it; at
  /// most 16.
  std::size_t window_size = 0;
  double window_units = 3.0;
  /// Rule "cusum": a one-sided CUSUM of the raw validation loss above its
  /// (smoothed) best, in noise units: S = max(0, S + (loss - best) / noise -
  /// cusum_k) after each evaluation once the noise is known, S = 0 at every
  /// new best; fires when S > cusum_h and the smoothed loss is more than
  /// gl_threshold percent above its best. cusum_k is the excess per evaluation
  /// it forgives (the best is the lowest smoothed value, so a flat noisy run
  /// sits about one noise unit above it); it fires whatever the training
  /// loss does: a sustained rise is never muted. cusum_h 0 disables it.
  double cusum_k = 4.0;
  double cusum_h = 24;
  /// Rule "rise streak": the validation loss rose this many evaluations in a
  /// row. 0 disables it.
  std::size_t rise_patience = 0;
  /// Rule "patience" (Keras EarlyStopping): no improvement for this many
  /// evaluations. 0 disables it.
  std::size_t patience = 0;
  /// Rule "gap ratio" (SageMaker Debugger Overfit): (val - train) / train
  /// above this. 0 disables it.
  double gap_ratio_threshold = 0.0;

  /// Divergence: a non-finite loss, or a loss above this.
  bool check_finite = true;
  double divergence_threshold = std::numeric_limits<double>::infinity();
  /// should_stop() also when overfitting (not only on divergence).
  bool stop_on_overfitting = true;
};

/// A detector option's member, by the type of its value.
using detector_field = std::variant<double detector_options::*, std::size_t detector_options::*,
                                    bool detector_options::*, std::string detector_options::*,
                                    direction detector_options::*>;

/// One option of the detector: its name (the setting `fitwatch_<name>`,
/// `FITWATCH_<NAME>`), what it takes ("number", "count", "boolean", "text" or
/// the choices), what it does, and its member. Its default is the member's
/// initializer above; its range is checked by the detector's constructor.
struct detector_option {
  std::string_view name;
  std::string_view type;
  std::string_view description;
  detector_field member;
};

/// Every option, in the order of docs/settings.md (the settings table reads it).
const std::vector<detector_option>& detector_option_table();
/// The option named `name`; nullptr if none.
const detector_option* detector_option_of(std::string_view name);
/// An option's value as text: the shortest exact number ("0.7", "inf"), a
/// count, "true"/"false", the text, "min"/"max".
std::string detector_option_text(const detector_options& options, const detector_field& field);
/// Every option as name -> text (what a saved state records).
std::map<std::string, std::string> detector_option_values(const detector_options& options);

/// One evaluation's inputs. Accuracies are optional (fractions or percent,
/// as the program reports them; the detector does not read them). `metric`
/// is the value of the monitored metric when detector_options::monitor
/// names one other than the validation loss (missing: read as NaN, so as
/// divergence).
struct evaluation {
  evaluation() = default;
  /// `{train, val}` or `{train, val, train_acc, val_acc}`: the accuracies are
  /// optional, and the braced call stays clean under -Wextra.
  evaluation(double train, double validation, std::optional<double> train_acc = std::nullopt,
             std::optional<double> validation_acc = std::nullopt)
      : train_loss(train),
        validation_loss(validation),
        train_accuracy(train_acc),
        validation_accuracy(validation_acc) {}

  double train_loss = 0;
  double validation_loss = 0;
  std::optional<double> train_accuracy;
  std::optional<double> validation_accuracy;
  std::optional<double> metric;  ///< the monitored metric, if not the validation loss
};

/// The signals after one evaluation.
struct signals {
  std::size_t evaluation = 0;      ///< 0-based index of this evaluation
  double gap = 0;                  ///< validation - training loss
  double gap_ratio = 0;            ///< (validation - training) / training
  double smoothed_validation = 0;  ///< what the rules read (the monitored metric, smoothed)
  std::size_t rise_streak = 0;
  std::size_t since_best = 0;
  double best_validation = 0;  ///< best (smoothed) value of the monitored metric
  std::size_t best_evaluation = 0;
  double generalization_loss = 0;  ///< percent worse than the best (above it; below with max)
  double noise = 0;                ///< robust std. dev. of the change per evaluation, 0 until known
  double train_trend = 0;          ///< t of the training loss's slope (< 0: falling), 0 until known
  bool improved = false;           ///< this evaluation set a new best
  bool diverged = false;
  bool overfitting = false;
  bool finite = true;  ///< both losses (and the monitored metric) finite, else gap etc. are not set
  /// Empty if no verdict. At the evaluation the verdict is reached, the
  /// rule that fired, in words; at every later one while it holds, where the
  /// run is now (generalization loss, evaluations since the best), then the
  /// evaluation the verdict was reached at and that rule's words.
  std::string reason;
};

class detector {
 public:
  /// \throw error on invalid options (smoothing outside (0, 1], negative
  /// thresholds, a monitor that is not a valid metric name).
  explicit detector(detector_options options = {});

  /// Updates the state with one evaluation and returns the signals.
  const signals& update(const evaluation& e);
  const signals& current() const noexcept { return signals_; }
  /// True once diverged, or overfitting when stop_on_overfitting.
  bool should_stop() const noexcept { return stop_; }
  const detector_options& options() const noexcept { return options_; }

  /// The version of the state format save_state() writes and restore_state() reads.
  static constexpr int state_version = 1;
  /// Everything the detector remembers (the best, the streaks, the noise and
  /// training-loss history, the latch, the last signals) and its options, as
  /// JSON text: save it with a checkpoint, restore it when the job resumes,
  /// and the detector goes on exactly as if it had never stopped.
  std::string save_state() const;
  /// Puts a saved state back. The detector is unchanged if it throws.
  /// \throw error if the text is not a state of this format version (over
  /// 64 KiB, malformed, a field missing, out of range or inconsistent), or
  /// was saved with other options (the message names the first that differs).
  void restore_state(std::string_view state);

 private:
  detector_options options_;
  signals signals_;
  std::size_t count_ = 0;
  bool has_best_ = false;
  double previous_ = 0;
  std::size_t gl_run_ = 0;
  std::size_t strong_run_ = 0;  // evaluations in a row beyond strong_rise_units or _percent
  // The lowest mean of window_size consecutive losses, and the history_count_
  // after its last one.
  bool has_window_ = false;
  double best_window_ = 0;
  std::size_t best_window_end_ = 0;
  std::size_t best_window_eval_ = 0;  // the evaluation of its last one
  double cusum_ = 0;                  // the CUSUM statistic S, >= 0
  std::size_t cusum_since_ = 0;       // evaluations since S was last 0
  // The last raw validation losses, oldest first once full (a ring).
  static constexpr std::size_t history_size = 16;
  std::array<double, history_size> history_{};
  std::array<double, history_size> train_history_{};  // the training losses, same ring
  std::size_t history_count_ = 0;
  double history_at(std::size_t back) const noexcept;  // 0 = newest
  double noise() const;
  double train_trend(std::size_t since_best) const;
  bool latched_ = false;
  std::size_t fired_at_ = 0;  // the evaluation the verdict was reached at
  std::string fired_reason_;  // the rule's words then
  bool stop_ = false;
};

}  // namespace fitwatch
