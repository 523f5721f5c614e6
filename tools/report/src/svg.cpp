#include "svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

namespace fitwatch::tools::report_detail {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed1(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string utc(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return b;
}

std::string elapsed(std::int64_t ms, std::int64_t span_ms) {
  char b[32];
  const long long s = ms / 1000;
  if (span_ms < 10000) {
    std::snprintf(b, sizeof b, "%.2fs", static_cast<double>(ms) / 1000);
  } else if (span_ms < 120000) {
    std::snprintf(b, sizeof b, "%llds", s);
  } else if (span_ms < 2 * 3600000) {
    std::snprintf(b, sizeof b, "%lld:%02lld", s / 60, s % 60);
  } else {
    std::snprintf(b, sizeof b, "%lld:%02lld h", s / 3600, (s / 60) % 60);
  }
  return b;
}

double nice_step(double range, int count) {
  if (!(range > 0)) return 1;
  const double raw = range / count;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

std::int64_t time_step(std::int64_t span) {
  static constexpr std::int64_t steps[] = {
      1,      2,      5,       10,      20,      50,       100,      200,      500,
      1000,   2000,   5000,    10000,   15000,   30000,    60000,    120000,   300000,
      600000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000};
  for (const auto s : steps)
    if (span / s <= 8) return s;
  return (span / 8 / 86400000 + 1) * 86400000;
}

y_axis fit(double lo, double hi, double top, double bottom) {
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (lo == hi) lo -= std::max(0.5, std::fabs(lo) * 0.1), hi += std::max(0.5, std::fabs(hi) * 0.1);
  const double step = nice_step(hi - lo, 4);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, top, bottom};
}

std::string path_of(const std::vector<run_report::row>& rows, const std::vector<std::size_t>& order,
                    value_fn f, const x_axis& xa, const y_axis& ya, std::size_t& points,
                    std::size_t& drawn) {
  std::string d;
  points = drawn = 0;
  struct pt {
    double x, y;
    std::size_t i;
  };
  std::vector<pt> column;  // the points of the current pixel column
  long current = std::numeric_limits<long>::min();
  bool pen_down = false;
  const auto flush = [&] {
    if (column.empty()) return;
    const auto [lo, hi] = std::minmax_element(column.begin(), column.end(),
                                              [](const pt& a, const pt& b) { return a.y < b.y; });
    std::vector<std::size_t> keep = {0, static_cast<std::size_t>(lo - column.begin()),
                                     static_cast<std::size_t>(hi - column.begin()),
                                     column.size() - 1};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (const auto k : keep) {
      d += pen_down ? " L" : (d.empty() ? "M" : " M");
      d += fixed1(column[k].x) + " " + fixed1(column[k].y);
      pen_down = true;
      ++drawn;
    }
    column.clear();
  };
  for (const auto i : order) {
    const double v = f(rows[i]);
    if (!std::isfinite(v)) {
      flush();
      pen_down = false;
      continue;
    }
    ++points;
    const double x = xa.x(rows[i].time_ms);
    const long c = std::lround(std::floor(x));
    if (c != current) flush();
    current = c;
    column.push_back({x, ya.y(v), i});
  }
  flush();
  return d;
}

}  // namespace fitwatch::tools::report_detail
