#include "fitwatch/detector.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "cloudwatch_names.hpp"
#include "fitwatch/error.hpp"

namespace fitwatch {

detector::detector(detector_options options) : options_(std::move(options)) {
  check_metric_name(options_.monitor);  // the reasons and the monitor name it
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
      {"strong_rise_units", options_.strong_rise_units},
      {"strong_rise_percent", options_.strong_rise_percent},
      {"window_units", options_.window_units},
      {"cusum_k", options_.cusum_k},
      {"cusum_h", options_.cusum_h}};
  for (const auto& [name, value] : thresholds) {
    if (value < 0 || std::isnan(value)) {
      throw error(std::string("detector ") + name + " must not be negative, got " +
                  std::to_string(value));
    }
  }
  if (options_.strong_rise_confirm == 0) {
    throw error("detector strong_rise_confirm must be at least 1");
  }
  if (options_.gl_threshold > 0 && options_.gl_confirm == 0) {
    throw error("detector gl_confirm must be at least 1");
  }
  if (options_.trend_window == 1 || options_.trend_window == 2 ||
      options_.trend_window > history_size) {
    throw error("detector trend_window must be 0 (off) or 3 to " + std::to_string(history_size) +
                ", got " + std::to_string(options_.trend_window));
  }
  if (options_.window_size > history_size) {
    throw error("detector window_size must be 0 (off) to " + std::to_string(history_size) +
                ", got " + std::to_string(options_.window_size));
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
// two). 0 until 6 differences are known. With noise_detrend, the absolute
// differences are taken from their median, not from 0: a steady trend (the
// same change every evaluation) is not noise, and a rise must not widen the
// unit it is measured in.
double detector::noise() const {
  const std::size_t values = std::min(history_count_, history_size);
  if (values < 7) return 0;
  const std::size_t n = values - 1;
  const auto median_of = [n](std::array<double, history_size - 1>& d) {
    const auto mid = d.begin() + static_cast<std::ptrdiff_t>(n / 2);
    std::nth_element(d.begin(), mid, d.begin() + static_cast<std::ptrdiff_t>(n));
    double median = *mid;
    if (n % 2 == 0) median = (median + *std::max_element(d.begin(), mid)) / 2;
    return median;
  };
  std::array<double, history_size - 1> d{};
  for (std::size_t i = 0; i < n; ++i) d[i] = history_at(i) - history_at(i + 1);
  const double centre = options_.noise_detrend ? median_of(d) : 0.0;
  for (std::size_t i = 0; i < n; ++i) d[i] = std::fabs(history_at(i) - history_at(i + 1) - centre);
  return median_of(d) * 1.4826 / std::sqrt(2.0);
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

// How the reasons name the monitored metric and its worse direction:
// "validation loss ... above its best" by default, "val_f1 ... below its
// best" for a named metric with mode max.
// "1 evaluation", "2 evaluations".
std::string evaluations(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " evaluation" : " evaluations");
}

struct wording {
  std::string subject;
  const char* worse;  // above / below (its best)
  const char* rose;   // rose / fell
  const char* rising;
  const char* jumped;
};

wording wording_of(const detector_options& o) {
  const bool max = o.mode == direction::max;
  return {o.monitor == default_monitor ? std::string("validation loss") : o.monitor,
          max ? "below" : "above", max ? "fell" : "rose", max ? "falling" : "rising",
          max ? "dropped" : "jumped"};
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
  const bool named = options_.monitor != default_monitor;
  const double metric =
      named ? e.metric.value_or(std::numeric_limits<double>::quiet_NaN()) : e.validation_loss;
  s.finite =
      std::isfinite(e.train_loss) && std::isfinite(e.validation_loss) && std::isfinite(metric);
  const bool above = e.train_loss > options_.divergence_threshold ||
                     e.validation_loss > options_.divergence_threshold;
  if ((!s.finite && options_.check_finite) || above) {
    s.diverged = true;
    s.reason = s.finite ? "a loss is above the divergence threshold"
               : named  ? "a loss or " + options_.monitor + " is not finite (NaN or infinity)"
                        : "a loss is not finite (NaN or infinity)";
    stop_ = true;
  }
  if (!s.finite) return s;  // nothing else can be computed from this evaluation

  // The rules read the metric oriented so that lower is better: negated
  // with mode max. Negation is exact, so a mirrored curve gives the same
  // verdicts bit for bit. The signals hold the metric's own values.
  const double sign = options_.mode == direction::max ? -1.0 : 1.0;
  const double value = sign * metric;
  double best = sign * s.best_validation;

  s.noise = noise();  // of the earlier evaluations: a jump must not hide itself
  history_[history_count_ % history_size] = value;
  train_history_[history_count_ % history_size] = e.train_loss;
  ++history_count_;

  // The window rule's means of raw values: O(window_size).
  double window_mean = 0;
  const std::size_t ws = options_.window_size;
  const bool window_full = ws > 0 && history_count_ >= ws;
  if (window_full) {
    for (std::size_t i = 0; i < ws; ++i) window_mean += history_at(i);
    window_mean /= static_cast<double>(ws);
  }

  s.gap = e.validation_loss - e.train_loss;
  s.gap_ratio = e.train_loss != 0 ? s.gap / e.train_loss : 0;
  const double v = has_best_ ? options_.smoothing * value +
                                   (1 - options_.smoothing) * sign * s.smoothed_validation
                             : value;
  s.smoothed_validation = sign * v;

  // Keras / Lightning: improvement iff current + |min_delta| < best.
  if (!has_best_ || v + std::fabs(options_.min_delta) < best) {
    s.improved = has_best_;
    best = v;
    s.best_evaluation = s.evaluation;
    s.since_best = 0;
    has_best_ = true;
  } else {
    ++s.since_best;
  }
  s.best_validation = sign * best;
  s.rise_streak = s.evaluation > 0 && v > previous_ + options_.min_delta ? s.rise_streak + 1 : 0;
  previous_ = v;
  // Percent of |best|, so that the rules mean the same for losses below zero.
  const double scale = std::fabs(best);
  s.generalization_loss = scale > 0 ? 100.0 * (v - best) / scale : 0.0;
  const double smoothed_noise = s.noise * std::sqrt(options_.smoothing / (2 - options_.smoothing));
  gl_run_ = s.generalization_loss > options_.gl_threshold &&
                    v - best > options_.gl_noise_units * smoothed_noise
                ? gl_run_ + 1
                : 0;
  s.train_trend = train_trend(s.since_best);
  const bool train_falling =
      options_.train_falling_t == 0 || s.train_trend < -options_.train_falling_t;
  const bool beyond_units = options_.strong_rise_units > 0 && s.noise > 0 &&
                            v - best > options_.strong_rise_units * smoothed_noise;
  const bool beyond_percent =
      options_.strong_rise_percent > 0 && s.generalization_loss > options_.strong_rise_percent;
  strong_run_ = gl_run_ > 0 && (beyond_units || beyond_percent) ? strong_run_ + 1 : 0;
  const bool strong_rise = strong_run_ > 0 && strong_run_ >= options_.strong_rise_confirm;
  // CUSUM: O(1); NaN (an infinite loss less an infinite best) counts as 0.
  if (s.improved || s.noise <= 0 || options_.cusum_h <= 0) {
    cusum_ = 0;
    cusum_since_ = 0;
  } else {
    const double next = cusum_ + (value - best) / s.noise - options_.cusum_k;
    cusum_ = next > 0 ? next : 0;
    cusum_since_ = cusum_ > 0 ? cusum_since_ + 1 : 0;
  }

  // The verdict: latched until a new best; rules are silent during warm-up.
  if (s.improved) latched_ = false;
  if (!latched_ && s.evaluation >= options_.warmup) {
    const auto w = wording_of(options_);
    std::ostringstream why;
    why.precision(3);
    const double rise = value - best;  // raw, worse than the (smoothed) best
    if (!train_falling && !strong_rise) {
      // the validation-loss rules below speak only while the model still
      // learns the training set, or beyond strong_rise_units or _percent (see them)
    } else if (options_.gl_threshold > 0 && gl_run_ >= options_.gl_confirm &&
               s.since_best >= options_.gl_min_since_best) {
      why << w.subject << " " << s.generalization_loss << "% " << w.worse
          << " its best (evaluation " << s.best_evaluation + 1 << ") for " << evaluations(gl_run_);
    } else if (options_.jump_sigmas > 0 && s.noise > 0 && s.since_best >= 1 &&
               rise > options_.jump_sigmas * s.noise &&
               rise > options_.gl_threshold / 100 * scale) {
      why << w.subject << " " << w.jumped << " to " << metric << ", " << rise / s.noise
          << " noise units " << w.worse << " its best (evaluation " << s.best_evaluation + 1 << ")";
    } else if (options_.trend_window > 0 && s.since_best + 1 >= options_.trend_window &&
               s.generalization_loss > options_.trend_min_gl &&
               slope_t(options_.trend_window,
                       [this](std::size_t back) { return history_at(back); }) > options_.trend_t) {
      why << w.subject << " " << w.rising << " steadily for " << options_.trend_window
          << " evaluations, " << s.generalization_loss << "% " << w.worse
          << " its best (evaluation " << s.best_evaluation + 1 << ")";
    }
    const bool validation_rule = !why.str().empty();
    if (validation_rule && options_.train_falling_t > 0) {
      if (train_falling) {
        why << ", while the training loss still falls";
      } else if (beyond_units) {
        why << ", " << (v - best) / smoothed_noise << " noise units " << w.worse << " its best";
      } else {
        why << ", more than "
            << detector_option_text(options_, &detector_options::strong_rise_percent) << "% "
            << w.worse << " its best whatever the training loss does";
      }
    }
    const double window_rise = window_mean - best_window_;
    const double window_unit = s.noise * std::sqrt(2.0 / static_cast<double>(ws));
    if (validation_rule) {
      // the first rule that fired is the reason
    } else if (ws > 0 && has_window_ && s.noise > 0 && s.since_best >= 1 &&
               history_count_ >= best_window_end_ + ws &&
               window_rise > options_.window_units * window_unit &&
               window_rise > options_.gl_threshold / 100 * std::fabs(best_window_)) {
      const std::size_t first = best_window_eval_ + 2 - ws;  // 1-based
      why << w.subject << ": the mean of the last " << evaluations(ws) << " is "
          << 100 * window_rise / std::fabs(best_window_) << "% and " << window_rise / window_unit
          << " noise units " << w.worse << " its best such mean (evaluations " << first << " to "
          << first + ws - 1 << ")";
    } else if (options_.cusum_h > 0 && s.since_best >= 1 && cusum_ > options_.cusum_h &&
               s.generalization_loss > options_.gl_threshold) {
      why << w.subject << ": its excess " << w.worse << " its best (evaluation "
          << s.best_evaluation + 1 << ") less " << options_.cusum_k << " noise units, summed over "
          << evaluations(cusum_since_) << " (CUSUM), is " << cusum_ << " noise units";
    } else if (options_.rise_patience > 0 && s.rise_streak >= options_.rise_patience) {
      why << w.subject << " " << w.rose << " " << evaluations(s.rise_streak) << " in a row";
    } else if (options_.patience > 0 && s.since_best >= options_.patience) {
      why << "no improvement for " << evaluations(s.since_best);
    } else if (options_.gap_ratio_threshold > 0 && s.gap_ratio > options_.gap_ratio_threshold) {
      why << "generalization gap ratio " << s.gap_ratio << " above "
          << options_.gap_ratio_threshold;
    }
    if (!why.str().empty()) {
      latched_ = true;
      fired_at_ = s.evaluation;
      fired_reason_ = why.str();
      s.reason = fired_reason_;
    }
  } else if (latched_) {
    // The verdict holds: the reason says where the run is now, then why
    // and when the verdict was reached.
    const auto w = wording_of(options_);
    std::ostringstream now;
    now.precision(3);
    now << w.subject << " " << s.generalization_loss << "% " << w.worse << " its best (evaluation "
        << s.best_evaluation + 1 << "), " << evaluations(s.since_best)
        << " since it; overfitting since evaluation " << fired_at_ + 1 << ": " << fired_reason_;
    s.reason = now.str();
  }
  if (window_full && (!has_window_ || window_mean < best_window_)) {
    has_window_ = true;
    best_window_ = window_mean;
    best_window_end_ = history_count_;
    best_window_eval_ = s.evaluation;
  }
  s.overfitting = latched_;
  if (!s.overfitting && !s.diverged) s.reason.clear();
  if (s.overfitting && options_.stop_on_overfitting) stop_ = true;
  return s;
}

}  // namespace fitwatch

// ---- state: save and restore ---------------------------------------------

namespace fitwatch {
namespace {

constexpr std::string_view state_format = "fitwatch-detector-state";
constexpr std::size_t state_limit = 64 * 1024;
constexpr std::size_t reason_limit = 4096;

// JSON has no infinities: they (and NaN) are written as strings.
nlohmann::json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

[[noreturn]] void bad_state(const std::string& why) {
  throw error("detector state: " + why);
}

// Reads the fields of a state object, each checked for type and range.
struct state_reader {
  const nlohmann::json& j;
  std::string where;

  const nlohmann::json& at(const char* key) const {
    const auto it = j.find(key);
    if (it == j.end()) bad_state(where + key + " is missing");
    return *it;
  }
  std::size_t count(const char* key, std::size_t max) const {
    const auto& v = at(key);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max) {
      bad_state(where + key + " is not a whole number from 0 to " + std::to_string(max));
    }
    return static_cast<std::size_t>(v.get<std::uint64_t>());
  }
  bool boolean(const char* key) const {
    const auto& v = at(key);
    if (!v.is_boolean()) bad_state(where + key + " is not true or false");
    return v.get<bool>();
  }
  static double number_of(const nlohmann::json& v, bool finite, const std::string& name) {
    if (v.is_number()) return v.get<double>();
    if (!finite && v.is_string()) {
      const auto s = v.get<std::string>();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    }
    bad_state(name + (finite ? " is not a finite number" : " is not a number"));
  }
  double number(const char* key, bool finite = true) const {
    return number_of(at(key), finite, where + key);
  }
  std::array<double, 16> ring(const char* key) const {
    const auto& v = at(key);
    std::array<double, 16> out{};
    if (!v.is_array() || v.size() != out.size()) {
      bad_state(where + key + " is not an array of " + std::to_string(out.size()) + " numbers");
    }
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = number_of(v[i], true, where + key);
    return out;
  }
};

}  // namespace

std::string detector::save_state() const {
  const auto ring = [](const std::array<double, history_size>& r) {
    nlohmann::json a = nlohmann::json::array();
    for (const double v : r) a.push_back(v);
    return a;
  };
  const auto& s = signals_;
  const nlohmann::json state = {
      {"format", state_format},
      {"version", state_version},
      {"options", detector_option_values(options_)},
      {"count", count_},
      {"has_best", has_best_},
      {"previous", previous_},
      {"gl_run", gl_run_},
      {"strong_run", strong_run_},
      {"has_window", has_window_},
      {"best_window", best_window_},
      {"best_window_end", best_window_end_},
      {"best_window_eval", best_window_eval_},
      {"cusum", number_json(cusum_)},
      {"cusum_since", cusum_since_},
      {"history", ring(history_)},
      {"train_history", ring(train_history_)},
      {"history_count", history_count_},
      {"latched", latched_},
      {"fired_at", fired_at_},
      {"fired_reason", fired_reason_},
      {"stop", stop_},
      {"signals",
       {{"evaluation", s.evaluation},
        {"gap", number_json(s.gap)},
        {"gap_ratio", number_json(s.gap_ratio)},
        {"smoothed_validation", s.smoothed_validation},
        {"rise_streak", s.rise_streak},
        {"since_best", s.since_best},
        {"best_validation", s.best_validation},
        {"best_evaluation", s.best_evaluation},
        {"generalization_loss", number_json(s.generalization_loss)},
        {"noise", number_json(s.noise)},
        {"train_trend", number_json(s.train_trend)},
        {"improved", s.improved},
        {"diverged", s.diverged},
        {"overfitting", s.overfitting},
        {"finite", s.finite},
        {"reason", s.reason}}},
  };
  return state.dump();
}

void detector::restore_state(std::string_view text) {
  if (text.size() > state_limit) {
    bad_state("larger than " + std::to_string(state_limit) + " bytes");
  }
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) bad_state("not a JSON object");
  const auto format = j.find("format");
  if (format == j.end() || *format != state_format) {
    bad_state("not a fitwatch detector state (\"format\" is not \"" + std::string(state_format) +
              "\")");
  }
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer()) bad_state("version is missing");
  if (*version != state_version) {
    bad_state("format version " + version->dump() + ", this fitwatch reads version " +
              std::to_string(state_version));
  }
  // The options decide what every number means: a state saved with other
  // options would resume a different detector.
  const auto options = j.find("options");
  if (options == j.end() || !options->is_object()) bad_state("options are missing");
  // An option the state lacks was saved before the option existed: the
  // detector then behaved as the option's value below, where that is not
  // today's default (options that came in off and were turned on later by
  // tune.py's choice), else as its default.
  static const std::map<std::string, std::string> before_it_existed = {{"noise_detrend", "false"},
                                                                       {"strong_rise_percent", "0"},
                                                                       {"strong_rise_confirm", "1"},
                                                                       {"cusum_h", "0"}};
  const auto defaults = detector_option_values(detector_options{});
  for (const auto& [name, value] : detector_option_values(options_)) {
    const auto it = options->find(name);
    const auto old = before_it_existed.find(name);
    const auto& absent = old != before_it_existed.end() ? old->second : defaults.at(name);
    if (it == options->end() && absent == value) continue;
    if (it == options->end() || !it->is_string() || it->get<std::string>() != value) {
      bad_state("saved with " + name + "=" + (it == options->end() ? "(missing)" : it->dump()) +
                ", this detector has " + name + "=\"" + value + "\"");
    }
  }

  // Counts are bounded by the number of evaluations, itself by 2^53 (a JSON
  // number every reader keeps exactly).
  constexpr std::size_t max_count = std::size_t{1} << 53;
  const state_reader r{j, ""};
  detector next = *this;
  next.count_ = r.count("count", max_count);
  next.has_best_ = r.boolean("has_best");
  next.previous_ = r.number("previous");
  next.gl_run_ = r.count("gl_run", next.count_);
  // Saved before strong_rise_confirm existed: a count of 1 at most mattered.
  next.strong_run_ = j.contains("strong_run") ? r.count("strong_run", next.gl_run_) : 0;
  next.history_ = r.ring("history");
  next.train_history_ = r.ring("train_history");
  next.history_count_ = r.count("history_count", next.count_);
  next.latched_ = r.boolean("latched");
  // Saved before the window rule existed: it starts afresh.
  next.has_window_ = j.contains("has_window") && r.boolean("has_window");
  next.best_window_ = next.has_window_ ? r.number("best_window") : 0;
  next.best_window_end_ = next.has_window_ ? r.count("best_window_end", next.history_count_) : 0;
  next.best_window_eval_ = next.has_window_ ? r.count("best_window_eval", next.count_) : 0;
  // Saved before the CUSUM rule existed: it starts afresh.
  next.cusum_ = j.contains("cusum") ? r.number("cusum", false) : 0;
  if (!(next.cusum_ >= 0)) bad_state("cusum is not a number of at least 0");
  next.cusum_since_ = j.contains("cusum") ? r.count("cusum_since", next.count_) : 0;
  next.stop_ = r.boolean("stop");

  const auto& sj = r.at("signals");
  if (!sj.is_object()) bad_state("signals is not an object");
  const state_reader sr{sj, "signals."};
  auto& s = next.signals_;
  s.evaluation = sr.count("evaluation", max_count);
  s.gap = sr.number("gap", false);
  s.gap_ratio = sr.number("gap_ratio", false);
  s.smoothed_validation = sr.number("smoothed_validation");
  s.rise_streak = sr.count("rise_streak", next.count_);
  s.since_best = sr.count("since_best", next.count_);
  s.best_validation = sr.number("best_validation");
  s.best_evaluation = sr.count("best_evaluation", s.evaluation);
  s.generalization_loss = sr.number("generalization_loss", false);
  s.noise = sr.number("noise", false);
  s.train_trend = sr.number("train_trend", false);
  s.improved = sr.boolean("improved");
  s.diverged = sr.boolean("diverged");
  s.overfitting = sr.boolean("overfitting");
  s.finite = sr.boolean("finite");
  const auto& reason = sr.at("reason");
  if (!reason.is_string() || reason.get<std::string>().size() > reason_limit) {
    bad_state("signals.reason is not a string of at most " + std::to_string(reason_limit) +
              " bytes");
  }
  s.reason = reason.get<std::string>();
  // Saved before the reason followed the run (fitwatch 0.x): the verdict's
  // reason then was the rule's, fixed at the evaluation before the next.
  if (j.contains("fired_at") || j.contains("fired_reason")) {
    next.fired_at_ = r.count("fired_at", s.evaluation);
    const auto& fired = r.at("fired_reason");
    if (!fired.is_string() || fired.get<std::string>().size() > reason_limit) {
      bad_state("fired_reason is not a string of at most " + std::to_string(reason_limit) +
                " bytes");
    }
    next.fired_reason_ = fired.get<std::string>();
  } else {
    next.fired_at_ = s.evaluation;
    next.fired_reason_ = next.latched_ ? s.reason : std::string();
  }
  // The last evaluation is the one before the next.
  if (next.count_ > 0 ? s.evaluation + 1 != next.count_ : s.evaluation != 0) {
    bad_state("signals.evaluation " + std::to_string(s.evaluation) + " does not follow count " +
              std::to_string(next.count_));
  }
  if (next.has_best_ != (next.history_count_ > 0)) {
    bad_state("has_best does not agree with history_count");
  }
  *this = std::move(next);
}

}  // namespace fitwatch
