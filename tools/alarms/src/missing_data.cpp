#include "alarms/missing_data.hpp"

#include <algorithm>
#include <cstddef>

#include "alarms/cloudwatch_text.hpp"

namespace fitwatch::alarms {
namespace {

std::string list_points(const std::vector<const point*>& pts) {
  std::string out = "[";
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (i > 0) out += ", ";
    out += java_double(*pts[i]->value) + " (" + datapoint_time(pts[i]->start) + ")";
  }
  return out + "]";
}

}  // namespace

std::string comparison_phrase(const std::string& op) {
  if (op == "GreaterThanOrEqualToThreshold") return "greater than or equal to";
  if (op == "GreaterThanThreshold") return "greater than";
  if (op == "LessThanThreshold") return "less than";
  return "less than or equal to";
}

comparison_op comparison_of(const std::string& op) {
  if (op == "GreaterThanOrEqualToThreshold") return comparison_op::greater_or_equal;
  if (op == "GreaterThanThreshold") return comparison_op::greater;
  if (op == "LessThanThreshold") return comparison_op::less;
  if (op == "LessThanOrEqualToThreshold") return comparison_op::less_or_equal;
  return comparison_op::band;
}

bool breaches(const std::string& op, double v, double threshold) {
  return breaches(comparison_of(op), v, threshold);
}

// CloudWatch's missing-data rule, from the user guide's section "How alarm
// state is evaluated when data is missing" and its worked tables:
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
// `range` is the evaluation range, oldest first: N + 2 periods.
decision decide(const metric_alarm& a, const std::vector<point>& range, alarm_state current) {
  const auto n = static_cast<std::size_t>(a.evaluation_periods);
  const auto m = static_cast<std::size_t>(a.datapoints_to_alarm);
  std::vector<const point*> real;  // newest first
  for (auto it = range.rbegin(); it != range.rend(); ++it) {
    if (it->value) real.push_back(&*it);
  }
  const auto breach = [&](const point* p) {
    return breaches(a.comparison, *p->value, a.threshold);
  };
  const auto threshold_text = [&](const std::vector<const point*>& pts, alarm_state next,
                                  std::size_t filled, const char* fill_word) {
    std::size_t k = 0;
    for (const auto* p : pts) k += (breach(p) == (next == alarm_state::alarm)) ? 1 : 0;
    const std::size_t total = pts.size() + filled;
    if (fill_word != nullptr && next == alarm_state::alarm) k += filled;
    if (fill_word != nullptr && next == alarm_state::ok) k += filled;
    const std::size_t minimum = next == alarm_state::alarm ? m : n - m + 1;
    std::string r = "Threshold Crossed: ";
    if (pts.empty()) {
      r += "no datapoints were received for " + plural(filled, "period") + " and " +
           plural(filled, "missing datapoint") + (filled == 1 ? " was" : " were") +
           " treated as [" + fill_word + "].";
      return r;
    }
    r += std::to_string(k) + " out of the last " + std::to_string(total) + " datapoints " +
         list_points(pts) + (k == 1 ? " was " : " were ") +
         (next == alarm_state::ok ? "not " : "") + comparison_phrase(a.comparison) +
         " the threshold (" + java_double(a.threshold) + ")";
    if (filled > 0) {
      r += ", with " + plural(filled, "missing datapoint") + " treated as [" + fill_word + "]";
    }
    r += " (minimum " + plural(minimum, "datapoint") + " for " + to_string(current) + " -> " +
         to_string(next) + " transition).";
    return r;
  };
  decision d;
  if (!real.empty()) d.epoch = real.front()->epoch;
  // Reasons are text work: only written when the state changes.
  const auto wanted = [&] { return d.next && *d.next != current; };

  if (real.size() >= n) {  // enough real datapoints: the most recent N decide
    std::vector<const point*> pts(real.begin(), real.begin() + static_cast<std::ptrdiff_t>(n));
    std::size_t k = 0;
    for (const auto* p : pts) k += breach(p) ? 1 : 0;
    d.next = k >= m ? alarm_state::alarm : alarm_state::ok;
    if (wanted()) d.reason = threshold_text(pts, *d.next, 0, nullptr);
    return d;
  }
  const std::size_t fills = n - real.size();
  std::size_t k = 0;
  for (const auto* p : real) k += breach(p) ? 1 : 0;
  const auto& tmd = a.treat_missing_data;
  if (tmd == "breaching" || tmd == "notBreaching") {
    const bool b = tmd == "breaching";
    d.next = k + (b ? fills : 0) >= m ? alarm_state::alarm : alarm_state::ok;
    // Only the filled datapoints that agree with the outcome count in the text.
    const bool fill_counts = b == (*d.next == alarm_state::alarm);
    d.reason =
        threshold_text(real, *d.next, fill_counts ? fills : 0, b ? "Breaching" : "NonBreaching");
    if (!fill_counts && real.empty()) d.reason = "Threshold Crossed: no datapoints were received.";
    return d;
  }
  // missing and ignore: the missing datapoints are not counted as breaching.
  // Too few breaching datapoints and at least one real non-breaching one
  // give OK (the guide's 2-of-3 table: "0 - X - -" and "- - - - 0" are OK
  // under both); too few breaching datapoints and no non-breaching one
  // decide nothing: INSUFFICIENT_DATA under missing, the current state under
  // ignore ("- - - - X" in both tables).
  if (tmd == "ignore") {
    if (real.empty()) return d;  // keep the current state
    if (k >= m) {
      d.next = alarm_state::alarm;
    } else if (real.size() > k) {
      d.next = alarm_state::ok;
    } else {
      return d;  // only breaching datapoints, too few: keep
    }
    if (wanted()) d.reason = threshold_text(real, *d.next, 0, nullptr);
    return d;
  }
  // missing (the default)
  if (real.empty()) {
    d.next = alarm_state::insufficient_data;
    d.reason =
        "Insufficient Data: " + plural(n, "datapoint") + (n == 1 ? " was" : " were") + " unknown.";
    return d;
  }
  // After the metric stops, CloudWatch keeps evaluating the last datapoints:
  // the N periods ending at the most recent real one, within the range.
  std::size_t last = 0;
  for (std::size_t i = 0; i < range.size(); ++i) {
    if (range[i].value) last = i;
  }
  const std::size_t first = last + 1 >= n ? last + 1 - n : 0;
  std::vector<const point*> window;
  std::size_t unknown = 0, kb = 0;
  for (std::size_t i = last + 1; i-- > first;) {
    if (range[i].value) {
      window.push_back(&range[i]);
      kb += breach(&range[i]) ? 1 : 0;
    } else {
      ++unknown;
    }
  }
  const std::size_t size = last + 1 - first;
  const std::size_t need = std::min(m, size);
  if (kb >= need) {
    d.next = alarm_state::alarm;
  } else if (window.size() > kb) {  // a real non-breaching datapoint
    d.next = alarm_state::ok;
  } else {
    d.next = alarm_state::insufficient_data;
    d.reason = "Insufficient Data: " + plural(unknown, "datapoint") +
               (unknown == 1 ? " was" : " were") + " unknown.";
    return d;
  }
  if (wanted()) d.reason = threshold_text(window, *d.next, 0, nullptr);
  return d;
}

std::string contributor_reason(const metric_alarm& a, const std::vector<point>& range,
                               alarm_state next, const std::string& decided) {
  if (next != alarm_state::alarm) return decided;
  // The datapoints evaluated: the most recent N real ones.
  std::size_t k = 0, seen = 0;
  const point* latest = nullptr;
  for (auto it = range.rbegin();
       it != range.rend() && seen < static_cast<std::size_t>(a.evaluation_periods); ++it) {
    if (!it->value) continue;
    ++seen;
    if (!breaches(a.comparison, *it->value, a.threshold)) continue;
    ++k;
    if (latest == nullptr) latest = &*it;
  }
  if (latest == nullptr) return decided;  // breaching only by filled datapoints
  return "Threshold Crossed: " + plural(k, "datapoint") + (k == 1 ? " was " : " were ") +
         comparison_phrase(a.comparison) + " the threshold (" + java_double(a.threshold) +
         "). The most recent datapoint which crossed the threshold: " + list_points({latest}) + ".";
}

std::string contributor_gone_reason(std::size_t periods) {
  return "No datapoint in the last " + plural(periods, "period") +
         ": the time series no longer exists.";
}

}  // namespace fitwatch::alarms
