#include "fitwatch/detector.hpp"

#include <cmath>
#include <sstream>

#include "fitwatch/error.hpp"

namespace fitwatch {

detector::detector(detector_options options) : options_(options) {
  if (!(options_.smoothing > 0 && options_.smoothing <= 1)) {
    throw error("detector smoothing must be in (0, 1], got " + std::to_string(options_.smoothing));
  }
  if (options_.min_delta < 0 || options_.gl_threshold < 0 || options_.gap_ratio_threshold < 0) {
    throw error("detector thresholds must not be negative");
  }
  if (options_.gl_threshold > 0 && options_.gl_confirm == 0) {
    throw error("detector gl_confirm must be at least 1");
  }
}

const signals& detector::update(const evaluation& e) {
  auto& s = signals_;
  s.evaluation = count_++;
  s.improved = false;
  s.finite = std::isfinite(e.train_loss) && std::isfinite(e.validation_loss);
  const bool above = e.train_loss > options_.divergence_threshold ||
                     e.validation_loss > options_.divergence_threshold;
  if ((!s.finite && options_.check_finite) || above) {
    s.diverged = true;
    s.reason = !s.finite ? "a loss is not finite (NaN or infinity)"
                         : "a loss is above the divergence threshold";
    stop_ = true;
  }
  if (!s.finite) return s;  // nothing else can be computed from this evaluation

  s.gap = e.validation_loss - e.train_loss;
  s.gap_ratio = e.train_loss != 0 ? s.gap / e.train_loss : 0;
  const double v = has_best_ ? options_.smoothing * e.validation_loss +
                                   (1 - options_.smoothing) * s.smoothed_validation
                             : e.validation_loss;
  s.smoothed_validation = v;

  // Keras / Lightning: improvement iff current + |min_delta| < best.
  if (!has_best_ || v + std::fabs(options_.min_delta) < s.best_validation) {
    s.improved = has_best_;
    s.best_validation = v;
    s.best_evaluation = s.evaluation;
    s.since_best = 0;
    has_best_ = true;
  } else {
    ++s.since_best;
  }
  s.rise_streak = s.evaluation > 0 && v > previous_ + options_.min_delta ? s.rise_streak + 1 : 0;
  previous_ = v;
  s.generalization_loss = s.best_validation > 0 ? 100.0 * (v / s.best_validation - 1.0) : 0.0;
  gl_run_ = s.generalization_loss > options_.gl_threshold ? gl_run_ + 1 : 0;

  // The verdict: latched until a new best; rules are silent during warm-up.
  if (s.improved) latched_ = false;
  if (!latched_ && s.evaluation >= options_.warmup) {
    std::ostringstream why;
    why.precision(3);
    if (options_.gl_threshold > 0 && gl_run_ >= options_.gl_confirm &&
        s.since_best >= options_.gl_min_since_best) {
      why << "validation loss " << s.generalization_loss << "% above its best (evaluation "
          << s.best_evaluation + 1 << ") for " << gl_run_ << " evaluations";
    } else if (options_.rise_patience > 0 && s.rise_streak >= options_.rise_patience) {
      why << "validation loss rose " << s.rise_streak << " evaluations in a row";
    } else if (options_.patience > 0 && s.since_best >= options_.patience) {
      why << "no improvement for " << s.since_best << " evaluations";
    } else if (options_.gap_ratio_threshold > 0 && s.gap_ratio > options_.gap_ratio_threshold) {
      why << "generalization gap ratio " << s.gap_ratio << " above "
          << options_.gap_ratio_threshold;
    }
    if (!why.str().empty()) {
      latched_ = true;
      s.reason = why.str();
    }
  }
  s.overfitting = latched_;
  if (!s.overfitting && !s.diverged) s.reason.clear();
  if (s.overfitting && options_.stop_on_overfitting) stop_ = true;
  return s;
}

}  // namespace fitwatch
