#include "fitwatch/detector.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "fitwatch/error.hpp"

namespace fitwatch {

detector::detector(detector_options options) : options_(options) {
  if (!(options_.smoothing > 0 && options_.smoothing <= 1)) {
    throw error("detector smoothing must be in (0, 1], got " + std::to_string(options_.smoothing));
  }
  const std::pair<const char*, double> thresholds[] = {
      {"min_delta", options_.min_delta},
      {"gl_threshold", options_.gl_threshold},
      {"gap_ratio_threshold", options_.gap_ratio_threshold},
      {"jump_sigmas", options_.jump_sigmas},
      {"trend_t", options_.trend_t},
      {"trend_min_gl", options_.trend_min_gl},
      {"gl_noise_units", options_.gl_noise_units},
      {"train_falling_t", options_.train_falling_t},
      {"strong_rise_units", options_.strong_rise_units}};
  for (const auto& [name, value] : thresholds) {
    if (value < 0 || std::isnan(value)) {
      throw error(std::string("detector ") + name + " must not be negative, got " +
                  std::to_string(value));
    }
  }
  if (options_.gl_threshold > 0 && options_.gl_confirm == 0) {
    throw error("detector gl_confirm must be at least 1");
  }
  if (options_.trend_window == 1 || options_.trend_window == 2 ||
      options_.trend_window > history_size) {
    throw error("detector trend_window must be 0 (off) or 3 to " + std::to_string(history_size) +
                ", got " + std::to_string(options_.trend_window));
  }
  if (options_.train_window < 3 || options_.train_window > history_size) {
    throw error("detector train_window must be 3 to " + std::to_string(history_size) + ", got " +
                std::to_string(options_.train_window));
  }
}

double detector::history_at(std::size_t back) const noexcept {
  return history_[(history_count_ - 1 - back) % history_size];
}

// Robust standard deviation of the change per evaluation: the median absolute
// difference of consecutive earlier validation losses, scaled to a standard
// deviation (1.4826 MAD for a normal variable; / sqrt 2 for a difference of
// two). 0 until 6 differences are known.
double detector::noise() const {
  const std::size_t values = std::min(history_count_, history_size);
  if (values < 7) return 0;
  std::array<double, history_size - 1> d{};
  const std::size_t n = values - 1;
  for (std::size_t i = 0; i < n; ++i) d[i] = std::fabs(history_at(i) - history_at(i + 1));
  const auto mid = d.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(d.begin(), mid, d.begin() + static_cast<std::ptrdiff_t>(n));
  double median = *mid;
  if (n % 2 == 0) median = (median + *std::max_element(d.begin(), mid)) / 2;
  return median * 1.4826 / std::sqrt(2.0);
}

namespace {

// t statistic of the least-squares slope of n values, value(0) the newest
// (so x runs backwards); +inf for a rising line that fits exactly, -inf for
// a falling one.
template <class At>
double slope_t(std::size_t n, At value) {
  const double mean_x = (static_cast<double>(n) - 1) / 2;
  double mean_y = 0;
  for (std::size_t i = 0; i < n; ++i) mean_y += value(i);
  mean_y /= static_cast<double>(n);
  double sxx = 0;
  double sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(n - 1 - i) - mean_x;  // oldest at x = 0
    sxx += x * x;
    sxy += x * (value(i) - mean_y);
  }
  const double slope = sxy / sxx;
  double residual = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(n - 1 - i) - mean_x;
    const double r = value(i) - mean_y - slope * x;
    residual += r * r;
  }
  const double se = std::sqrt(residual / static_cast<double>(n - 2) / sxx);
  if (se == 0) {
    if (slope == 0) return 0;
    return slope > 0 ? std::numeric_limits<double>::infinity()
                     : -std::numeric_limits<double>::infinity();
  }
  return slope / se;
}

}  // namespace

// The training loss's trend from the best evaluation on: at least
// train_window values (fewer only at the start of a run), at most 16.
double detector::train_trend(std::size_t since_best) const {
  const std::size_t known = std::min(history_count_, history_size);
  const std::size_t n = std::min(known, std::max(options_.train_window, since_best + 1));
  if (n < 3) return 0;
  return slope_t(n, [this](std::size_t back) {
    return train_history_[(history_count_ - 1 - back) % history_size];
  });
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

  s.noise = noise();  // of the earlier evaluations: a jump must not hide itself
  history_[history_count_ % history_size] = e.validation_loss;
  train_history_[history_count_ % history_size] = e.train_loss;
  ++history_count_;

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
  // Percent of |best|, so that the rules mean the same for losses below zero.
  const double scale = std::fabs(s.best_validation);
  s.generalization_loss = scale > 0 ? 100.0 * (v - s.best_validation) / scale : 0.0;
  const double smoothed_noise = s.noise * std::sqrt(options_.smoothing / (2 - options_.smoothing));
  gl_run_ = s.generalization_loss > options_.gl_threshold &&
                    v - s.best_validation > options_.gl_noise_units * smoothed_noise
                ? gl_run_ + 1
                : 0;
  s.train_trend = train_trend(s.since_best);
  const bool train_falling =
      options_.train_falling_t == 0 || s.train_trend < -options_.train_falling_t;
  const bool strong_rise = options_.strong_rise_units > 0 && gl_run_ > 0 && s.noise > 0 &&
                           v - s.best_validation > options_.strong_rise_units * smoothed_noise;

  // The verdict: latched until a new best; rules are silent during warm-up.
  if (s.improved) latched_ = false;
  if (!latched_ && s.evaluation >= options_.warmup) {
    std::ostringstream why;
    why.precision(3);
    const double rise = e.validation_loss - s.best_validation;  // raw, above the (smoothed) best
    if (!train_falling && !strong_rise) {
      // the validation-loss rules below speak only while the model still
      // learns the training set, or beyond strong_rise_units (see both)
    } else if (options_.gl_threshold > 0 && gl_run_ >= options_.gl_confirm &&
               s.since_best >= options_.gl_min_since_best) {
      why << "validation loss " << s.generalization_loss << "% above its best (evaluation "
          << s.best_evaluation + 1 << ") for " << gl_run_ << " evaluations";
    } else if (options_.jump_sigmas > 0 && s.noise > 0 && s.since_best >= 1 &&
               rise > options_.jump_sigmas * s.noise &&
               rise > options_.gl_threshold / 100 * scale) {
      why << "validation loss jumped to " << e.validation_loss << ", " << rise / s.noise
          << " noise units above its best (evaluation " << s.best_evaluation + 1 << ")";
    } else if (options_.trend_window > 0 && s.since_best + 1 >= options_.trend_window &&
               s.generalization_loss > options_.trend_min_gl &&
               slope_t(options_.trend_window,
                       [this](std::size_t back) { return history_at(back); }) > options_.trend_t) {
      why << "validation loss rising steadily for " << options_.trend_window << " evaluations, "
          << s.generalization_loss << "% above its best (evaluation " << s.best_evaluation + 1
          << ")";
    }
    const bool validation_rule = !why.str().empty();
    if (validation_rule && options_.train_falling_t > 0) {
      if (train_falling) {
        why << ", while the training loss still falls";
      } else {
        why << ", " << (v - s.best_validation) / smoothed_noise << " noise units above its best";
      }
    }
    if (validation_rule) {
      // the first rule that fired is the reason
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
