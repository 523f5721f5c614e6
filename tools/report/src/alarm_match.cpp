#include "alarm_match.hpp"

#include <algorithm>
#include <sstream>

#include "alarms/insights.hpp"
#include "metrics.hpp"

namespace fitwatch::report::detail {

bool is_insights(const alarms::metric_alarm& a) {
  return std::any_of(a.metrics.begin(), a.metrics.end(), [](const alarms::metric_query& q) {
    return q.expression.find("SELECT") != std::string::npos;
  });
}

std::size_t watched_metric(const alarms::metric_alarm& a) {
  if (!a.metric_name.empty()) return metric_index(a.metric_name);
  for (const auto& q : a.metrics) {
    if (!q.return_data) continue;
    if (!q.metric_name.empty()) return metric_index(q.metric_name);
    try {
      if (const auto iq = alarms::parse_insights(q.expression, a.logical_id))
        return metric_index(iq->metric);
    } catch (const std::exception&) {
      // not a query the engine reads either; nothing to draw
    }
  }
  return metric_count;
}

bool watches_job(const alarms::metric_alarm& a, const std::string& job) {
  if (is_insights(a)) return true;
  bool any = false;
  const auto has = [&](const std::vector<std::pair<std::string, std::string>>& dims) {
    for (const auto& kv : dims) {
      any = true;
      if (kv.second == job) return true;
    }
    return false;
  };
  if (has(a.dimensions)) return true;
  for (const auto& q : a.metrics)
    if (has(q.dimensions)) return true;
  return !any;
}

contributor_items contributors_by_job(const alarms::transition& t) {
  contributor_items items;
  if (t.metric == nullptr || !is_insights(*t.metric)) return items;
  std::stringstream list(t.contributor);
  std::string item;
  while (std::getline(list, item, ',')) {
    const auto eq = item.find('=');
    if (eq != std::string::npos) items.emplace(item.substr(eq + 1), item);
  }
  return items;
}

bool concerns_job(const alarms::template_model& model, const alarms::transition& t,
                  const std::string& job, const contributor_items& items) {
  if (t.metric != nullptr) {
    if (!is_insights(*t.metric)) return watches_job(*t.metric, job);
    return t.contributor.empty() || items.count(job) != 0;
  }
  return t.composite == nullptr || composite_watches_job(model, *t.composite, job);
}

bool composite_watches_job(const alarms::template_model& model, const alarms::composite_alarm& c,
                           const std::string& job) {
  bool any_child = false;
  for (const auto& a : model.alarms) {
    if (c.rule.find('"' + a.name + '"') == std::string::npos &&
        c.rule.find('"' + a.arn + '"') == std::string::npos)
      continue;
    any_child = true;
    if (watches_job(a, job)) return true;
  }
  return !any_child;
}

std::string contributors_of_job(const alarms::transition& t, const std::string& job,
                                const contributor_items& items) {
  if (t.contributor_level() || items.size() <= 1) return t.contributor;
  const auto mine = items.find(job);
  const std::size_t others = items.size() - (mine == items.end() ? 0 : 1);
  const std::string rest = std::to_string(others) + (others == 1 ? " other job" : " other jobs");
  return mine == items.end() ? rest : mine->second + " and " + rest;
}

}  // namespace fitwatch::report::detail
