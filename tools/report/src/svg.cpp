#include "svg.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

namespace fitwatch::report::detail {

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
  const double scale = std::max(std::fabs(lo), std::fabs(hi)) > 1e300 ? 1.0 / 65536 : 1;
  lo *= scale, hi *= scale;  // exact: a power of two
  if (lo == hi) lo -= std::max(0.5, std::fabs(lo) * 0.1), hi += std::max(0.5, std::fabs(hi) * 0.1);
  const double step = nice_step(hi - lo, 4);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, top, bottom, scale};
}

void trace::flush() {
  if (n_ == 0) return;
  // The column's first, highest, lowest and last value, each once, in the
  // order they came.
  std::array<value, 4> keep = {first_, highest_, lowest_, last_};
  std::sort(keep.begin(), keep.end(), [](const value& a, const value& b) { return a.at < b.at; });
  for (std::size_t k = 0; k < keep.size(); ++k) {
    if (k > 0 && keep[k].at == keep[k - 1].at) continue;
    drawn_.push_back({keep[k].t, keep[k].v, !pen_down_});
    pen_down_ = true;
  }
  n_ = 0;
}

std::string trace::path(const x_axis& xa, const y_axis& ya) const {
  std::string d;
  d.reserve(drawn_.size() * 14);
  for (const auto& p : drawn_) {
    d += !p.move ? " L" : (d.empty() ? "M" : " M");
    d += fixed1(xa.x(p.t)) + " " + fixed1(ya.y(p.v));
  }
  return d;
}

}  // namespace fitwatch::report::detail
