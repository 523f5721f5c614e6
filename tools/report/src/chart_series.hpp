// The series of a job's chart: what each draws from a row, in which order,
// and in which colour (the same in the report, the dashboard and the docs).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>

#include "alarms/model.hpp"
#include "run_data.hpp"

namespace fitwatch::report::detail {

// One colour per series, the same in the report, the dashboard
// (templates/overfitting-alerts.yaml) and the docs.
inline constexpr const char* train_colour = "#1f77b4";
inline constexpr const char* validation_colour = "#ff7f0e";
inline constexpr const char* smoothed_colour = "#8c3b00";
inline constexpr const char* best_colour = "#2ca02c";
inline constexpr const char* gl_colour = "#9467bd";
inline constexpr const char* streak_colour = "#8c564b";
inline constexpr const char* since_best_colour = "#17becf";
inline constexpr const char* alarm_colour = "#d62728";
inline constexpr const char* ok_colour = "#2ca02c";
inline constexpr const char* insufficient_colour = "#bdbdbd";
inline constexpr const char* email_colour = "#444444";

// The series the panels draw.
inline double train_of(const row& r) {
  return r.v[train_loss];
}
inline double validation_of(const row& r) {
  return r.v[validation_loss];
}
// The detector does not write its smoothed validation loss, but it writes
// the two numbers it follows from: GL = 100 (s - best) / |best| and the best
// (smoothed) loss, so s = best + GL/100 |best| (docs/detector.md). At a best
// of exactly 0 the GL is 0 by definition and s is drawn at the best.
inline double smoothed_of(const row& r) {
  const double best = r.v[best_validation_loss];
  const double gl = r.v[generalization_loss];
  if (std::isnan(best) || std::isnan(gl)) return std::numeric_limits<double>::quiet_NaN();
  return best + gl / 100 * std::fabs(best);
}
inline double gl_of(const row& r) {
  return r.v[generalization_loss];
}
inline double streak_of(const row& r) {
  return r.v[rise_streak];
}
inline double since_best_of(const row& r) {
  return r.v[evaluations_since_best];
}

// The traces of a job's page, in this order.
enum trace_index : std::size_t {
  train_trace,
  validation_trace,
  smoothed_trace,
  gl_trace,
  streak_trace,
  since_best_trace,
  trace_count
};
using value_fn = double (*)(const row&);
inline constexpr std::array<value_fn, trace_count> series_of = {
    train_of, validation_of, smoothed_of, gl_of, streak_of, since_best_of};

inline const char* state_colour(alarms::alarm_state s) {
  return s == alarms::alarm_state::alarm ? alarm_colour
         : s == alarms::alarm_state::ok  ? ok_colour
                                         : insufficient_colour;
}

}  // namespace fitwatch::report::detail
