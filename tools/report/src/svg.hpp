// The drawing primitives of the report: escaping, numbers and times as
// the page prints them, the axes and the decimated SVG path of a series.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/report.hpp"

namespace fitwatch::tools::report_detail {

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

struct y_axis {
  double lo = 0, hi = 1, top = 0, bottom = 1;
  double y(double v) const { return bottom - (bottom - top) * (v - lo) / (hi - lo); }
};

// A y axis over the finite values the series take, widened to nice ticks.
y_axis fit(double lo, double hi, double top, double bottom);

// The series of a panel: a value per row (NaN = none).
using value_fn = double (*)(const run_report::row&);

// An SVG path through the series, decimated for drawing: per pixel column
// the first, lowest, highest and last point in the order they came (M4),
// so the outline of 10,000 evaluations is exact at a few thousand points.
// A NaN lifts the pen. `points` counts the values, `drawn` the vertices.
std::string path_of(const std::vector<run_report::row>& rows, const std::vector<std::size_t>& order,
                    value_fn f, const x_axis& xa, const y_axis& ya, std::size_t& points,
                    std::size_t& drawn);

}  // namespace fitwatch::tools::report_detail
