#include "alarms/statistic.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <iterator>

#include "alarms/error.hpp"

namespace fitwatch::alarms {
namespace {

// The sum of `v`, then divided by `divisor`. A plain sum first (the same
// bits as always); if it overflows, again on values scaled by 2^-64, which
// cannot overflow: the mean of huge values stays finite, and a sum too
// large for a double is +-Infinity, never NaN (Infinity - Infinity).
double sum_over(const std::vector<double>& v, double divisor) {
  double s = 0;
  for (const double x : v) s += x;
  if (std::isfinite(s)) return s / divisor;
  double scaled = 0;
  for (const double x : v) scaled += std::ldexp(x, -64);
  return std::ldexp(scaled / divisor, 64);
}

// pNN or pNN.NN, 0..100: digits only (no sign, exponent, "nan" or "inf").
std::optional<double> percentile(const std::string& stat) {
  if (stat.size() < 2 || stat[0] != 'p') return std::nullopt;
  const auto dot = stat.find('.');
  const auto digits = [&](std::size_t from, std::size_t to) {
    return to > from && to - from <= 3 &&
           std::all_of(stat.begin() + static_cast<std::ptrdiff_t>(from),
                       stat.begin() + static_cast<std::ptrdiff_t>(to),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
  };
  if (dot == std::string::npos ? !digits(1, stat.size())
                               : !digits(1, dot) || !digits(dot + 1, stat.size())) {
    return std::nullopt;
  }
  const double p = std::strtod(stat.c_str() + 1, nullptr);
  if (p > 100) return std::nullopt;
  return p;
}

}  // namespace

std::optional<double> statistic(const std::string& stat, const std::vector<double>& all) {
  // CloudWatch stores no NaN or Infinity (API_MetricDatum), so a
  // non-finite value is no datapoint; EMF input cannot hold one, but the
  // model does not rely on that.
  thread_local std::vector<double> finite;
  const bool all_finite =
      std::all_of(all.begin(), all.end(), [](double x) { return std::isfinite(x); });
  if (!all_finite) {
    finite.clear();
    std::copy_if(all.begin(), all.end(), std::back_inserter(finite),
                 [](double x) { return std::isfinite(x); });
  }
  const std::vector<double>& v = all_finite ? all : finite;
  const auto known = stat == "SampleCount" || stat == "Sum" || stat == "Average" ||
                     stat == "Minimum" || stat == "Maximum";
  const auto p = known ? std::nullopt : percentile(stat);
  if (!known && !p) throw alarm_error("statistic " + stat + " is not supported");
  if (v.empty()) return std::nullopt;
  if (stat == "SampleCount") return static_cast<double>(v.size());
  if (stat == "Sum") return sum_over(v, 1);
  if (stat == "Average") return sum_over(v, static_cast<double>(v.size()));
  if (stat == "Minimum") return *std::min_element(v.begin(), v.end());
  if (stat == "Maximum") return *std::max_element(v.begin(), v.end());
  // Nearest rank on the raw values of the period.
  thread_local std::vector<double> sorted;
  sorted.assign(v.begin(), v.end());
  std::sort(sorted.begin(), sorted.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(*p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[rank == 0 ? 0 : rank - 1];
}

}  // namespace fitwatch::alarms
