#include "alarms/periods.hpp"

#include <algorithm>

namespace fitwatch::alarms {

void reset_periods(std::vector<period_samples>& periods, std::size_t count,
                   std::int64_t first_start, std::int64_t period_ms) {
  periods.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    periods[i].start = first_start + static_cast<std::int64_t>(i) * period_ms;
    periods[i].values.clear();
    periods[i].epoch.reset();
  }
}

void add_to_periods(const std::vector<sample>* series, std::vector<period_samples>& periods,
                    std::int64_t period_ms) {
  if (series == nullptr || periods.empty()) return;
  const std::int64_t first = periods.front().start;
  const std::int64_t end = periods.back().start + period_ms;
  auto it = std::lower_bound(series->begin(), series->end(), first,
                             [](const sample& s, std::int64_t t) { return s.timestamp_ms < t; });
  for (; it != series->end() && it->timestamp_ms < end; ++it) {
    auto& p = periods[static_cast<std::size_t>((it->timestamp_ms - first) / period_ms)];
    p.values.push_back(it->value);
    if (it->epoch) p.epoch = it->epoch;
  }
}

}  // namespace fitwatch::alarms
