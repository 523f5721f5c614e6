#include "alarms/statistic.hpp"

#include <algorithm>
#include <cmath>

#include "alarms/error.hpp"

namespace fitwatch::tools {

std::optional<double> statistic(const std::string& stat, const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  if (stat == "SampleCount") return static_cast<double>(v.size());
  if (stat == "Sum" || stat == "Average") {
    double s = 0;
    for (const double x : v) s += x;
    return stat == "Sum" ? s : s / static_cast<double>(v.size());
  }
  if (stat == "Minimum") return *std::min_element(v.begin(), v.end());
  if (stat == "Maximum") return *std::max_element(v.begin(), v.end());
  if (stat.size() > 1 && stat[0] == 'p') {
    // pNN or pNN.N: nearest rank on the raw values of the period.
    double p = 0;
    try {
      std::size_t used = 0;
      p = std::stod(stat.substr(1), &used);
      if (used != stat.size() - 1 || p < 0 || p > 100) throw std::invalid_argument("p");
    } catch (const std::exception&) {
      throw alarm_error("statistic " + stat + " is not supported");
    }
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(s.size())));
    return s[rank == 0 ? 0 : rank - 1];
  }
  throw alarm_error("statistic " + stat + " is not supported");
}

}  // namespace fitwatch::tools
