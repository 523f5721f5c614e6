#include "alarms/engine.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "alarms/alarm_rule.hpp"
#include "alarms/cloudwatch_text.hpp"
#include "alarms/error.hpp"
#include "alarms/insights.hpp"
#include "alarms/math.hpp"
#include "alarms/periods.hpp"
#include "alarms/statistic.hpp"

namespace fitwatch::alarms {
namespace {

// Metric math is evaluated over the evaluation range plus this many
// earlier periods, so that DIFF, RATE and FILL(REPEAT) can look back.
constexpr std::size_t math_history = 20;

// What PutMetricAlarm refuses and the template reader does not check: a
// Threshold that is no number, a Period or EvaluationPeriods below 1. (The
// template reader checks the evaluation range, Period x EvaluationPeriods.)
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
void check_numbers(const metric_alarm& a, const std::string& where) {
  if (!std::isfinite(a.threshold)) throw alarm_error(where + ": Threshold is not a finite number");
  if (a.period <= 0) throw alarm_error(where + ": Period must be positive");
  if (a.evaluation_periods < 1) throw alarm_error(where + ": EvaluationPeriods must be at least 1");
}

// A transition of metric alarm `a` at tick `t`, with the actions it runs.
transition metric_transition(const metric_alarm& a, std::int64_t t, alarm_state from,
                             alarm_state to, std::string reason,
                             std::optional<std::int64_t> epoch) {
  transition tr;
  tr.time_ms = t;
  tr.alarm_name = a.name;
  tr.alarm_arn = a.arn;
  tr.old_state = from;
  tr.new_state = to;
  tr.reason = std::move(reason);
  tr.epoch = epoch;
  tr.metric = &a;
  tr.alarm = &a;
  if (a.actions_enabled) {
    tr.actions = to == alarm_state::alarm ? a.alarm_actions
                 : to == alarm_state::ok  ? a.ok_actions
                                          : a.insufficient_data_actions;
  }
  return tr;
}

// A contributor's id: 16 hex digits (DescribeAlarmContributors' ContributorId
// is 1..16 characters), the same for the same attributes (FNV-1a, 64 bits).
std::string contributor_id(const std::string& attributes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : attributes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  static const char* hex = "0123456789abcdef";
  std::string id(16, '0');
  for (std::size_t i = 16; i-- > 0; h >>= 4) id[i] = hex[h & 15];
  return id;
}

}  // namespace

// A metric-math alarm: its MetricStat queries, its expressions, and the id
// whose values the alarm evaluates.
struct math_plan {
  std::map<std::string, const metric_query*> stats;
  std::map<std::string, math_expression> expressions;
  std::string returned;
  std::map<std::string, const std::vector<sample>*> series;
};

struct engine::metric_state {
  const metric_alarm* alarm = nullptr;
  std::unique_ptr<math_plan> math;
  std::optional<insights_query> insights;
  alarm_state state = alarm_state::insufficient_data;
  // The series the alarm reads, once it exists, and scratch buffers: the
  // hot path of a replay is one evaluation per alarm per tick.
  const std::vector<sample>* series = nullptr;
  std::size_t seen_series = static_cast<std::size_t>(-1);
  std::vector<period_samples> periods;
  std::vector<point> range;
  std::set<std::string> in_alarm;  // Metrics Insights: the contributors (group values) in ALARM
  std::int64_t period_ms() const { return static_cast<std::int64_t>(alarm->period) * 1000; }
};

struct engine::composite_state {
  const composite_alarm* alarm = nullptr;
  alarm_rule rule;
  alarm_state state = alarm_state::insufficient_data;
};

engine::engine(const template_model& model) : model_(model) {
  for (const auto& a : model.alarms) {
    auto s = std::make_unique<metric_state>();
    s->alarm = &a;
    const std::string where = "resource " + a.logical_id;
    static const std::set<std::string> ops = {"GreaterThanOrEqualToThreshold",
                                              "GreaterThanThreshold", "LessThanThreshold",
                                              "LessThanOrEqualToThreshold"};
    if (!ops.count(a.comparison)) {
      throw alarm_error(where + ": ComparisonOperator " + a.comparison + " is not supported");
    }
    static const std::set<std::string> tmds = {"missing", "ignore", "breaching", "notBreaching"};
    if (!tmds.count(a.treat_missing_data)) {
      throw alarm_error(where + ": TreatMissingData " + a.treat_missing_data + " is not valid");
    }
    check_numbers(a, where);
    if (a.datapoints_to_alarm < 1 || a.datapoints_to_alarm > a.evaluation_periods) {
      throw alarm_error(where + ": DatapointsToAlarm must be 1..EvaluationPeriods");
    }
    if (!a.metrics.empty()) {
      const metric_query* ret = nullptr;
      std::size_t returning = 0;
      for (const auto& q : a.metrics) {
        if (q.return_data) {
          ret = &q;
          ++returning;
        }
      }
      if (returning != 1)
        throw alarm_error(where + ": Metrics must have exactly one ReturnData: true");
      if (a.metrics.size() > 20) throw alarm_error(where + ": more than 20 Metrics queries");
      if (!(s->insights = parse_insights(ret->expression, where))) {
        auto plan = std::make_unique<math_plan>();
        plan->returned = ret->id;
        for (const auto& q : a.metrics) {
          if (q.expression.empty()) {
            statistic(q.statistic, {1.0});
            if (q.period != a.period)
              throw alarm_error(where + ": every query must have the alarm's period");
            plan->stats[q.id] = &q;
            wanted_.emplace_back(q.ns, q.metric_name);
          } else {
            if (q.expression.find("SELECT") != std::string::npos) {
              throw alarm_error(where +
                                ": a Metrics Insights query inside metric math is not supported");
            }
            plan->expressions.emplace(q.id, math_expression(q.expression));
          }
        }
        for (const auto& [id, e] : plan->expressions) {
          for (const auto& ref : e.ids()) {
            if (!plan->stats.count(ref) && !plan->expressions.count(ref)) {
              throw alarm_error(where + ": expression " + id + " reads " + ref +
                                ", which is not a query id");
            }
          }
        }
        s->math = std::move(plan);
      }
    } else {
      statistic(a.statistic, {1.0});  // rejects unknown statistics now
    }
    if (a.period < 60) step_ms_ = 10000;
    // What an evaluation at tick t reads: the N + 2 periods of the range
    // (plus the history of metric math) before the period holding t.
    const auto periods = static_cast<std::int64_t>(a.evaluation_periods) + 3 +
                         static_cast<std::int64_t>(s->math ? math_history : 0);
    lookback_ms_ = std::max(lookback_ms_, periods * s->period_ms());
    if (s->insights) {
      wanted_.emplace_back(s->insights->ns, s->insights->metric);
    } else if (!s->math) {
      wanted_.emplace_back(a.ns, a.metric_name);
    }
    metrics_.push_back(std::move(s));
  }
  for (const auto& c : model.composites) {
    auto s = std::make_unique<composite_state>(composite_state{&c, alarm_rule(c.rule)});
    for (const auto& r : s->rule.alarms()) {
      bool found = false;
      for (const auto& a : model.alarms) found |= a.name == r || a.arn == r;
      for (const auto& o : model.composites) found |= o.name == r || o.arn == r;
      if (!found) {
        throw alarm_error("resource " + c.logical_id + ": AlarmRule names " + r +
                          ", which is not an alarm of this template");
      }
    }
    composites_.push_back(std::move(s));
  }
}

engine::~engine() = default;

bool engine::wants(std::string_view ns, std::string_view name) const {
  for (const auto& [n, m] : wanted_) {
    if (m == name && n == ns) return true;
  }
  return false;
}

std::int64_t engine::settled_after(std::int64_t time_ms) const {
  time_ms = std::min(time_ms, max_time_ms);
  std::int64_t end = (time_ms / step_ms_ + 1) * step_ms_;
  for (const auto& m : metrics_)
    end = std::max(end, (time_ms / m->period_ms() + 1) * m->period_ms());
  return end;
}

std::int64_t engine::longest_range_ms() const {
  std::int64_t longest = 0;
  for (const auto& m : metrics_) {
    longest = std::max(longest, (m->alarm->evaluation_periods + 2) * m->period_ms());
  }
  return longest;
}

alarm_state engine::state_of(const std::string& name) const {
  for (const auto& m : metrics_) {
    if (m->alarm->name == name || m->alarm->arn == name) return m->state;
  }
  for (const auto& c : composites_) {
    if (c->alarm->name == name || c->alarm->arn == name) return c->state;
  }
  return alarm_state::insufficient_data;
}

std::vector<transition> engine::advance_to(std::int64_t time_ms) {
  std::vector<transition> out;
  time_ms = std::min(time_ms, max_time_ms);
  std::int64_t t;
  if (clock_) {
    t = *clock_ + step_ms_;
  } else {
    const auto first = store_.first_timestamp().value_or(time_ms);
    t = (first / step_ms_ + 1) * step_ms_;  // the first boundary after the first datapoint
  }
  for (; t <= time_ms; t += step_ms_) {
    // A tick is quiet when no sample lies in what it reads. Once every
    // alarm has evaluated an empty range (a quiet minute tick), each state
    // is a fixed point: the clock jumps to the last quiet tick before the
    // next sample, without stepping through the empty time between.
    const auto next = store_.next_timestamp(t - lookback_ms_);
    const bool quiet = !next || *next >= t;
    if (quiet && settled_) {
      const std::int64_t last = time_ms / step_ms_ * step_ms_;
      t = next ? std::min(last, *next / step_ms_ * step_ms_) : last;
      clock_ = t;
      continue;
    }
    tick(t, out);
    clock_ = t;
    settled_ = quiet && (settled_ || t % 60000 == 0);
    store_.forget_before(t + step_ms_ - lookback_ms_);  // no later tick reads them
  }
  return out;
}

void engine::tick(std::int64_t t, std::vector<transition>& out) {
  // A composite alarm evaluates its rule when it is created, before any
  // child has data (PutCompositeAlarm): usually OK, so its OK actions run
  // at deploy time. Replay creates the stack just before the first tick.
  if (evaluated_ticks_ == 0) evaluate_composites(t, out);
  ++evaluated_ticks_;
  for (auto& ms : metrics_) evaluate_metric(*ms, t, out);
  evaluate_composites(t, out);
}

void engine::evaluate_metric(metric_state& ms, std::int64_t t, std::vector<transition>& out) {
  const auto& a = *ms.alarm;
  const std::int64_t p = ms.period_ms();
  if (p >= 60000 && t % 60000 != 0) return;  // standard alarms: every minute
  // Periods that ended at or before t; the evaluation range is N + 2 of them.
  const std::size_t count = static_cast<std::size_t>(a.evaluation_periods) + 2;
  const std::int64_t first_start = (t / p) * p - static_cast<std::int64_t>(count) * p;
  decision d;
  std::string contributors;
  if (ms.insights) {
    d = insights_decision(ms, t, first_start, count, contributors, out);
  } else {
    if (ms.math) {
      math_range(ms, first_start, count);
    } else {
      single_range(ms, first_start, count);
    }
    d = decide(a, ms.range, ms.state);
  }
  if (!d.next || *d.next == ms.state) return;
  out.push_back(metric_transition(a, t, ms.state, *d.next, std::move(d.reason), d.epoch));
  out.back().contributor = std::move(contributors);
  ms.state = *d.next;
}

void engine::single_range(metric_state& ms, std::int64_t first_start, std::size_t count) {
  const auto& a = *ms.alarm;
  if (ms.series == nullptr && ms.seen_series != store_.series_count()) {
    ms.series = store_.find(a.ns, a.metric_name, a.dimensions);
    ms.seen_series = store_.series_count();
  }
  reset_periods(ms.periods, count, first_start, ms.period_ms());
  add_to_periods(ms.series, ms.periods, ms.period_ms());
  ms.range.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    ms.range[i] = {ms.periods[i].start, statistic(a.statistic, ms.periods[i].values),
                   ms.periods[i].epoch};
  }
}

void engine::math_range(metric_state& ms, std::int64_t first_start, std::size_t count) {
  // Every query over the range plus history (DIFF, RATE and FILL(REPEAT)
  // look back), then the returned id's last N + 2 periods.
  const auto& a = *ms.alarm;
  auto& plan = *ms.math;
  const std::int64_t p = ms.period_ms();
  const std::size_t length = math_history + count;
  const std::int64_t first = first_start - static_cast<std::int64_t>(math_history) * p;
  std::map<std::string, period_series> values;
  std::vector<std::optional<std::int64_t>> epochs(length);
  for (const auto& [id, q] : plan.stats) {
    auto& series = plan.series[id];
    if (series == nullptr) series = store_.find(q->ns, q->metric_name, q->dimensions);
    reset_periods(ms.periods, length, first, p);
    add_to_periods(series, ms.periods, p);
    period_series v(length);
    for (std::size_t i = 0; i < length; ++i) {
      v[i] = statistic(q->statistic, ms.periods[i].values);
      if (ms.periods[i].epoch) epochs[i] = ms.periods[i].epoch;
    }
    values[id] = std::move(v);
  }
  std::function<const period_series&(const std::string&)> lookup =
      [&](const std::string& id) -> const period_series& {
    if (const auto it = values.find(id); it != values.end()) return it->second;
    const auto e = plan.expressions.find(id);
    if (e == plan.expressions.end())
      throw alarm_error("resource " + a.logical_id + ": no query " + id);
    period_series v = e->second.evaluate(lookup, first, p, length);
    return values[id] = std::move(v);
  };
  const period_series result = lookup(plan.returned);
  ms.range.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto& pt = ms.range[i];
    pt.start = first_start + static_cast<std::int64_t>(i) * p;
    pt.value = result[math_history + i];
    if (pt.value && std::isnan(*pt.value)) pt.value.reset();
    pt.epoch = epochs[math_history + i];
  }
}

// A multi time series alarm: one time series per GROUP BY value (a
// contributor). The user guide, "Acting on alarm changes"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Acting_Alarm_Changes.html):
// a contributor is only ever ALARM or OK, "because a time series only
// exists when data is present", and SNS and Lambda actions run at the alarm
// level and at the contributor level. "Create an alarm based on a Multi
// Time Series Metrics Insights query"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/multi-time-series-alarm.html):
// the query is refreshed at every evaluation, and the alarm is in ALARM as
// soon as one contributor is. So each contributor is decided on its own
// series, and each change of one is a transition running the alarm's
// actions. Not documented, and fitwatch's reading: a series with no
// datapoint left in the evaluation range is no longer returned by the
// query, so its contributor leaves ALARM (to OK) at that evaluation; the
// alarm itself is OK when no contributor is in ALARM (from INSUFFICIENT_DATA
// once a series exists). Reasons: the alarm's as in the EventBridge example
// ("6 out of 6 time series evaluated to ALARM"), the contributor's below.
decision engine::insights_decision(metric_state& ms, std::int64_t t, std::int64_t first_start,
                                   std::size_t count, std::string& who,
                                   std::vector<transition>& out) {
  const auto& a = *ms.alarm;
  const auto& q = *ms.insights;
  const std::int64_t p = ms.period_ms();
  std::map<std::string, std::vector<period_samples>> groups;
  for (const auto& [dims, series] : store_.with_dimensions(q.ns, q.metric, q.schema_dims)) {
    const auto g = dims.find(q.group_by);
    if (g == dims.end()) continue;
    auto& periods = groups[g->second];
    if (periods.empty()) reset_periods(periods, count, first_start, p);
    add_to_periods(series, periods, p);
  }
  const auto& stat = insights_statistic(q.fn);
  std::size_t series = 0;
  std::optional<std::int64_t> epoch;
  const auto change = [&](const std::string& group, alarm_state to, std::string reason,
                          std::optional<std::int64_t> at_epoch) {
    const std::string attribute = q.group_by + "=" + group;
    auto tr =
        metric_transition(a, t, to == alarm_state::alarm ? alarm_state::ok : alarm_state::alarm, to,
                          std::move(reason), at_epoch);
    tr.contributor = attribute;
    tr.contributor_id = contributor_id(attribute);
    tr.contributor_attributes = {{q.group_by, group}};
    out.push_back(std::move(tr));
    if (to == alarm_state::alarm) {
      ms.in_alarm.insert(group);
    } else {
      ms.in_alarm.erase(group);
    }
    epoch = at_epoch;
  };
  // A query reads at most 500 time series; above that the alarm evaluates
  // partial data ("alarm-limits", docs/fleet.md): the first 500 in the
  // query's ORDER BY FN() DESC order, the highest value in the range first.
  std::vector<std::pair<double, const std::string*>> order;
  for (const auto& [group, periods] : groups) {
    std::optional<double> top;
    for (const auto& pr : periods) {
      const auto v = statistic(stat, pr.values);
      if (v && (!top || *v > *top)) top = v;
    }
    if (top) order.emplace_back(*top, &group);
  }
  std::set<std::string> evaluated;
  const std::size_t total = order.size();
  if (total > max_insights_series) {
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& x, const auto& y) { return x.first > y.first; });
    for (std::size_t i = 0; i < max_insights_series; ++i) evaluated.insert(*order[i].second);
  }
  std::vector<point> range(count);
  for (const auto& [group, periods] : groups) {
    if (total > max_insights_series && evaluated.count(group) == 0) continue;
    bool any = false;
    for (std::size_t i = 0; i < count; ++i) {
      range[i] = {periods[i].start, statistic(stat, periods[i].values), periods[i].epoch};
      any |= range[i].value.has_value();
    }
    const bool was_alarm = ms.in_alarm.count(group) > 0;
    if (!any) {  // the series no longer exists
      if (was_alarm) change(group, alarm_state::ok, contributor_gone_reason(count), std::nullopt);
      continue;
    }
    ++series;
    const alarm_state current = was_alarm ? alarm_state::alarm : alarm_state::ok;
    decision d = decide(a, range, current);
    // Never INSUFFICIENT_DATA: a contributor whose datapoints decide
    // nothing keeps its state.
    if (!d.next || *d.next == alarm_state::insufficient_data || *d.next == current) continue;
    change(group, *d.next, contributor_reason(a, range, *d.next, d.reason), d.epoch);
  }
  for (const auto& group : ms.in_alarm) {
    who += (who.empty() ? "" : ", ") + q.group_by + "=" + group;
  }
  decision d;
  d.epoch = epoch;
  if (!ms.in_alarm.empty()) {
    d.next = alarm_state::alarm;
  } else if (series > 0 || ms.state == alarm_state::alarm) {
    d.next = alarm_state::ok;
  }
  if (d.next && *d.next != ms.state) {
    // At most 100 contributors in ALARM are reported: "100+" beyond.
    const std::size_t k = ms.in_alarm.size();
    d.reason = (k > max_reported_contributors ? std::to_string(max_reported_contributors) + "+"
                                              : std::to_string(k)) +
               " out of " + std::to_string(series) + " time series evaluated to ALARM";
    if (total > max_insights_series) {
      d.reason += " (PARTIAL_DATA: the query returned " + std::to_string(max_insights_series) +
                  " of " + std::to_string(total) + " time series)";
    }
  }
  return d;
}

void engine::evaluate_composites(std::int64_t t, std::vector<transition>& out) {
  // Until nothing changes: composite alarms may nest.
  const auto state = [this](const std::string& name) { return state_of(name); };
  for (bool again = true; again;) {
    again = false;
    for (auto& cs : composites_) {
      const alarm_state next = cs->rule.evaluate(state) ? alarm_state::alarm : alarm_state::ok;
      if (next == cs->state) continue;
      const auto& c = *cs->alarm;
      transition tr;
      tr.time_ms = t;
      tr.alarm_name = c.name;
      tr.alarm_arn = c.arn;
      tr.old_state = cs->state;
      tr.new_state = next;
      tr.composite = &c;
      tr.alarm = &c;
      for (const auto& r : cs->rule.alarms()) {
        const bool child_changed = std::any_of(out.begin(), out.end(), [&](const transition& x) {
          return x.time_ms == t && (x.alarm_name == r || x.alarm_arn == r);
        });
        std::string arn = r;
        for (const auto& m : model_.alarms) {
          if (m.name == r) arn = m.arn;
        }
        for (const auto& m : model_.composites) {
          if (m.name == r) arn = m.arn;
        }
        // Triggering children: those that changed at this tick into the
        // state that moved the composite (ALARM children for ALARM).
        if (child_changed && (next != alarm_state::alarm || state_of(r) == alarm_state::alarm)) {
          tr.triggering_children.push_back(arn + " transitioned to " + to_string(state_of(r)) +
                                           " at " + email_time(t));
          for (const auto& x : out) {
            if (x.time_ms == t && (x.alarm_name == r) && x.epoch) tr.epoch = x.epoch;
          }
        }
      }
      tr.reason = tr.triggering_children.empty()
                      ? "The alarm rule evaluated to " + to_string(next) + "."
                      : tr.triggering_children.front();
      if (c.actions_enabled) {
        tr.actions = next == alarm_state::alarm ? c.alarm_actions : c.ok_actions;
      }
      cs->state = next;
      out.push_back(std::move(tr));
      again = true;
    }
  }
}

}  // namespace fitwatch::alarms
