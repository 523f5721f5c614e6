// The drawing primitives of the report: escaping, numbers and times as
// the page prints them, the axes and the decimated trace of a series.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "run_data.hpp"

namespace fitwatch::report::detail {

// Every string from the log or the template goes through this, in text and
// in attribute values alike.
std::string esc(std::string_view s);
std::string fixed1(double v);  // "%.1f": coordinates
std::string number(double v);  // "%.6g": values
std::string utc(std::int64_t ms);
// Elapsed time on the axis: seconds below 2 minutes of span, m:ss below 2
// hours, h:mm above.
std::string elapsed(std::int64_t ms, std::int64_t span_ms);
// A "nice" step (1, 2 or 5 times a power of ten) giving about `count` ticks.
double nice_step(double range, int count);
// A step of the time axis giving at most 8 ticks over `span` ms.
std::int64_t time_step(std::int64_t span);

// Where things go on the page (px).
inline constexpr double width = 1100, left = 90, right = 1070, plot_width = right - left;

struct x_axis {
  std::int64_t t0 = 0, t1 = 1;
  double x(std::int64_t t) const {
    return left + plot_width * static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
  }
};

// `lo` and `hi` are in units of `scale`: 1, or 2^-16 for values above
// 1e300, where the axis's arithmetic (its range, its rounded ends, the
// height times a difference) would overflow to infinity and draw NaN.
struct y_axis {
  double lo = 0, hi = 1, top = 0, bottom = 1, scale = 1;
  double y(double v) const { return at(v * scale); }
  double at(double scaled) const { return bottom - (bottom - top) * (scaled - lo) / (hi - lo); }
};

// A y axis over the finite values the series take, widened to nice ticks.
y_axis fit(double lo, double hi, double top, double bottom);

// A series as the page draws it, decimated as its values arrive in time
// order: per pixel column the first, highest, lowest and last value (M4),
// so the outline of 10,000 evaluations is exact at a few thousand
// vertices. A NaN or an infinity lifts the pen.
class trace {
 public:
  /// The value at time `t`, which falls in pixel column `column`; columns
  /// never decrease from one call to the next.
  void add(long column, std::int64_t t, double v) {
    if (!std::isfinite(v)) {
      flush();
      pen_down_ = false;
      return;
    }
    ++points_;
    lo_ = std::min(lo_, v);
    hi_ = std::max(hi_, v);
    if (column != column_) flush();
    column_ = column;
    const std::size_t at = n_++;
    const value p{t, v, at};
    if (at == 0) first_ = highest_ = lowest_ = p;
    if (v > highest_.v) highest_ = p;  // the first of the highest
    if (v <= lowest_.v) lowest_ = p;   // the last of the lowest
    last_ = p;
  }
  /// Ends the last column: call once, after the last add.
  void finish() { flush(); }

  /// The SVG path data ("M x y L x y ...").
  std::string path(const x_axis& xa, const y_axis& ya) const;
  std::size_t points() const { return points_; }       ///< finite values
  std::size_t drawn() const { return drawn_.size(); }  ///< vertices
  /// The range of the finite values (lo > hi when there is none).
  double lo() const { return lo_; }
  double hi() const { return hi_; }

 private:
  struct value {
    std::int64_t t;
    double v;
    std::size_t at;  // its position in the current column
  };
  struct vertex {
    std::int64_t t;
    double v;
    bool move;  // the pen moves to it (else draws a line)
  };
  void flush();

  std::vector<vertex> drawn_;
  long column_ = 0;
  std::size_t n_ = 0;  // values in the current column
  value first_{}, highest_{}, lowest_{}, last_{};
  bool pen_down_ = false;
  std::size_t points_ = 0;
  double lo_ = std::numeric_limits<double>::infinity();
  double hi_ = -std::numeric_limits<double>::infinity();
};

}  // namespace fitwatch::report::detail
