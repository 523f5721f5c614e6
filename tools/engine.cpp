#include "engine.hpp"

#include "cursor.hpp"
#include "math.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

namespace fitwatch::tools {
namespace {

using nlohmann::json;

// The key of a series in the store: namespace, name and the dimensions
// sorted by name. One encoding for adding and for finding.
template <class Dimensions>
void write_series_key(std::string& key, const std::string& ns, const std::string& name,
                      const Dimensions& sorted_dims) {
  key.assign(ns);
  key += '\x1f';
  key += name;
  for (const auto& [k, v] : sorted_dims) {
    key += '\x1f';
    key += k;
    key += '=';
    key += v;
  }
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

bool breaches(const std::string& op, double v, double threshold) {
  if (op == "GreaterThanOrEqualToThreshold") return v >= threshold;
  if (op == "GreaterThanThreshold") return v > threshold;
  if (op == "LessThanThreshold") return v < threshold;
  if (op == "LessThanOrEqualToThreshold") return v <= threshold;
  return false;
}

std::string phrase(const std::string& op) {
  if (op == "GreaterThanOrEqualToThreshold") return "greater than or equal to";
  if (op == "GreaterThanThreshold") return "greater than";
  if (op == "LessThanThreshold") return "less than";
  return "less than or equal to";
}

struct point {
  std::int64_t start = 0;
  std::optional<double> value;
  std::optional<std::int64_t> epoch;
};

// The decision of one evaluation; `next` empty = keep the current state.
struct decision {
  std::optional<alarm_state> next;
  std::string reason;
  std::optional<std::int64_t> epoch;
};

std::string list_points(const std::vector<const point*>& pts) {
  std::string out = "[";
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (i > 0) out += ", ";
    out += java_double(*pts[i]->value) + " (" + datapoint_time(pts[i]->start) + ")";
  }
  return out + "]";
}

// CloudWatch's missing-data rule (alarm-evaluation / alarms-and-missing-data
// pages, and the worked table in shared/reference/aws-facts.md). `range` is
// the evaluation range, oldest first: N + 2 periods.
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
         (next == alarm_state::ok ? "not " : "") + phrase(a.comparison) + " the threshold (" +
         java_double(a.threshold) + ")";
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
  if (tmd == "ignore") {
    if (real.empty()) return d;  // keep the current state
    if (k >= m) {
      d.next = alarm_state::alarm;
    } else if (k + fills < m) {
      d.next = alarm_state::ok;
    } else {
      return d;  // the missing datapoints could go either way: keep
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
  } else if (kb + unknown < need) {
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

// ---- composite alarm rules ---------------------------------------------------

struct rule_node {
  enum kind { state_fn, op_and, op_or, op_not, constant } k = constant;
  alarm_state wanted = alarm_state::alarm;
  std::string alarm;  // name or ARN
  bool value = false;
  std::vector<rule_node> kids;
};

class rule_parser {
 public:
  explicit rule_parser(const std::string& text) : in_("AlarmRule", text) {}
  rule_node parse() {
    auto n = parse_or();
    in_.expect_end();
    return n;
  }

 private:
  rule_node parse_or() {
    auto left = parse_and();
    while (in_.eat("OR")) {
      rule_node n;
      n.k = rule_node::op_or;
      n.kids = {left, parse_and()};
      left = n;
    }
    return left;
  }
  rule_node parse_and() {
    auto left = parse_not();
    while (in_.eat("AND")) {
      rule_node n;
      n.k = rule_node::op_and;
      n.kids = {left, parse_not()};
      left = n;
    }
    return left;
  }
  rule_node parse_not() {
    if (in_.eat("NOT")) {
      rule_node n;
      n.k = rule_node::op_not;
      n.kids = {parse_not()};
      return n;
    }
    return parse_primary();
  }
  rule_node parse_primary() {
    rule_node n;
    if (in_.eat("(")) {
      n = parse_or();
      if (!in_.eat(")")) in_.fail("missing ')'");
      return n;
    }
    if (in_.eat("TRUE")) {
      n.value = true;
      return n;
    }
    if (in_.eat("FALSE")) return n;
    if (in_.eat("INSUFFICIENT_DATA")) {
      n.wanted = alarm_state::insufficient_data;
    } else if (in_.eat("ALARM")) {
      n.wanted = alarm_state::alarm;
    } else if (in_.eat("OK")) {
      n.wanted = alarm_state::ok;
    } else {
      in_.fail("expected ALARM(), OK(), INSUFFICIENT_DATA(), NOT, TRUE, FALSE or '('");
    }
    n.k = rule_node::state_fn;
    if (!in_.eat("(")) in_.fail("missing '(' after a state function");
    if (in_.eat("\"")) {
      n.alarm = in_.until('"', "unclosed quote");
      in_.eat("\"");
    } else {
      n.alarm = in_.until(')', "missing ')'");
      while (!n.alarm.empty() && std::isspace(static_cast<unsigned char>(n.alarm.back())))
        n.alarm.pop_back();
    }
    if (!in_.eat(")")) in_.fail("missing ')'");
    return n;
  }
  text_cursor in_;
};

void collect_alarms(const rule_node& n, std::vector<std::string>& out) {
  if (n.k == rule_node::state_fn) out.push_back(n.alarm);
  for (const auto& k : n.kids) collect_alarms(k, out);
}

}  // namespace

// ---- public helpers ----------------------------------------------------------

std::string to_string(alarm_state s) {
  switch (s) {
    case alarm_state::ok:
      return "OK";
    case alarm_state::alarm:
      return "ALARM";
    case alarm_state::insufficient_data:
      return "INSUFFICIENT_DATA";
  }
  return "?";
}

std::string java_double(double v) {
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  char buf[64];
  const double a = std::fabs(v);
  if (a >= 1e-3 && a < 1e7) {
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    std::string s(buf, r.ptr);
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
  }
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, r.ptr);  // 1.5e-05
  const auto e = s.find('e');
  std::string mant = s.substr(0, e);
  if (mant.find('.') == std::string::npos) mant += ".0";
  const int exp = std::stoi(s.substr(e + 1));
  return mant + "E" + std::to_string(exp);
}

namespace {
std::tm utc(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
}  // namespace

std::string email_time(std::int64_t ms) {
  static const char* days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                               "Thursday", "Friday", "Saturday"};
  static const char* months[] = {"January",   "February", "March",    "April",
                                 "May",       "June",     "July",     "August",
                                 "September", "October",  "November", "December"};
  const auto tm = utc(ms);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s %d %s, %d %02d:%02d:%02d UTC", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string datapoint_time(std::int64_t ms) {
  const auto tm = utc(ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%d/%m/%y %H:%M:%S", &tm);
  return buf;
}

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
      throw template_error("statistic " + stat + " is not supported");
    }
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(s.size())));
    return s[rank == 0 ? 0 : rank - 1];
  }
  throw template_error("statistic " + stat + " is not supported");
}

// ---- metric store ------------------------------------------------------------

void metric_store::add(const extracted_event& event, std::size_t line) {
  const auto ts = event.timestamp_ms;
  first_ = first_ ? std::min(*first_, ts) : ts;
  last_ = last_ ? std::max(*last_, ts) : ts;
  for (const auto& x : event.series) {
    write_series_key(key_, x.ns, x.name, x.dimensions);  // sorted by the reader
    auto [it, fresh] = series_.try_emplace(key_);
    auto& s = it->second;
    if (fresh) {
      s.ns = x.ns;
      s.name = x.name;
      s.dims.insert(x.dimensions.begin(), x.dimensions.end());
    }
    for (const double v : x.values) {
      const bool in_order = s.samples.empty() || s.samples.back().timestamp_ms <= ts;
      s.samples.push_back({ts, v, line, event.epoch});
      if (!in_order) {
        std::stable_sort(s.samples.begin(), s.samples.end(), [](const sample& a, const sample& b) {
          return a.timestamp_ms < b.timestamp_ms;
        });
      }
      ++datapoints_;
    }
  }
}

line_report metric_store::add_line(
    std::string_view line, std::size_t number,
    const std::function<bool(std::string_view, std::string_view)>& wanted) {
  auto r = validate_line(line, {}, &scratch_, wanted);
  if (r.kind == line_kind::emf) add(scratch_, number);
  return r;
}

const std::vector<sample>* metric_store::find(
    const std::string& ns, const std::string& name,
    std::vector<std::pair<std::string, std::string>> dims) const {
  const std::map<std::string, std::string> m(dims.begin(), dims.end());
  if (m.size() != dims.size()) return nullptr;  // a dimension named twice matches nothing
  std::string key;
  write_series_key(key, ns, name, m);
  const auto it = series_.find(key);
  return it == series_.end() ? nullptr : &it->second.samples;
}

std::vector<std::pair<std::map<std::string, std::string>, const std::vector<sample>*>>
metric_store::with_dimensions(const std::string& ns, const std::string& name,
                              std::vector<std::string> names) const {
  std::sort(names.begin(), names.end());
  std::vector<std::pair<std::map<std::string, std::string>, const std::vector<sample>*>> out;
  for (const auto& [key, s] : series_) {
    if (s.ns != ns || s.name != name || s.dims.size() != names.size()) continue;
    std::size_t i = 0;
    bool same = true;
    for (const auto& [k, v] : s.dims) same &= k == names[i++];
    if (same) out.emplace_back(s.dims, &s.samples);
  }
  return out;
}

// ---- the engine --------------------------------------------------------------

namespace {

// What the Metrics Insights query of the fleet template asks for:
// SELECT FN(Metric) FROM SCHEMA("ns", Dim, ...) GROUP BY Dim [ORDER BY FN() DESC] [LIMIT n]
struct insights_query {
  std::string fn, metric, ns;
  std::vector<std::string> schema_dims;
  std::string group_by;
};

std::optional<insights_query> parse_insights(const std::string& e, const std::string& where) {
  if (e.find("SELECT") == std::string::npos) return std::nullopt;
  static const std::regex re(
      R"re(^\s*SELECT\s+(AVG|MAX|MIN|SUM|COUNT)\s*\(\s*"?(\w+)"?\s*\)\s+FROM\s+SCHEMA\s*\(\s*"([^"]+)"((?:\s*,\s*"?\w+"?)*)\s*\)\s+GROUP\s+BY\s+"?(\w+)"?(\s+ORDER\s+BY\s+(AVG|MAX|MIN|SUM|COUNT)\s*\(\s*\)\s+(ASC|DESC))?(\s+LIMIT\s+\d+)?\s*$)re",
      std::regex::icase);
  std::smatch m;
  if (!std::regex_match(e, m, re)) {
    throw template_error(where +
                         ": this Metrics Insights query is beyond what fitwatch replay "
                         "evaluates (SELECT FN(metric) FROM SCHEMA(...) GROUP BY dim): " +
                         e);
  }
  insights_query q{m[1].str(), m[2].str(), m[3].str(), {}, m[5].str()};
  std::string dims = m[4].str();
  static const std::regex dim(R"re("?(\w+)"?)re");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim); it != std::sregex_iterator();
       ++it) {
    q.schema_dims.push_back((*it)[1].str());
  }
  for (auto& c : q.fn) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return q;
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
  const metric_alarm* alarm;
  std::unique_ptr<math_plan> math;
  alarm_state state = alarm_state::insufficient_data;
  // The series the alarm reads, once it exists, and scratch buffers: the
  // hot path of a replay is one evaluation per alarm per tick.
  const std::vector<sample>* series = nullptr;
  std::size_t seen_series = static_cast<std::size_t>(-1);
  std::vector<point> range;
  std::vector<double> values;
  std::optional<insights_query> insights;
  std::map<std::string, alarm_state> contributors;  // Metrics Insights: per group value
  std::int64_t period_ms() const { return static_cast<std::int64_t>(alarm->period) * 1000; }
};

struct engine::composite_state {
  const composite_alarm* alarm;
  rule_node rule;
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
      throw template_error(where + ": ComparisonOperator " + a.comparison + " is not supported");
    }
    static const std::set<std::string> tmds = {"missing", "ignore", "breaching", "notBreaching"};
    if (!tmds.count(a.treat_missing_data)) {
      throw template_error(where + ": TreatMissingData " + a.treat_missing_data + " is not valid");
    }
    if (a.datapoints_to_alarm < 1 || a.datapoints_to_alarm > a.evaluation_periods) {
      throw template_error(where + ": DatapointsToAlarm must be 1..EvaluationPeriods");
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
        throw template_error(where + ": Metrics must have exactly one ReturnData: true");
      if (a.metrics.size() > 20) throw template_error(where + ": more than 20 Metrics queries");
      if (!(s->insights = parse_insights(ret->expression, where))) {
        auto plan = std::make_unique<math_plan>();
        plan->returned = ret->id;
        for (const auto& q : a.metrics) {
          if (q.expression.empty()) {
            statistic(q.statistic, {1.0});
            if (q.period != a.period)
              throw template_error(where + ": every query must have the alarm's period");
            plan->stats[q.id] = &q;
            wanted_.emplace_back(q.ns, q.metric_name);
          } else {
            if (q.expression.find("SELECT") != std::string::npos) {
              throw template_error(
                  where + ": a Metrics Insights query inside metric math is not supported");
            }
            plan->expressions.emplace(q.id, math_expression(q.expression));
          }
        }
        for (const auto& [id, e] : plan->expressions) {
          for (const auto& ref : e.ids()) {
            if (!plan->stats.count(ref) && !plan->expressions.count(ref)) {
              throw template_error(where + ": expression " + id + " reads " + ref +
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
    if (s->insights) {
      wanted_.emplace_back(s->insights->ns, s->insights->metric);
    } else if (!s->math) {
      wanted_.emplace_back(a.ns, a.metric_name);
    }
    metrics_.push_back(std::move(s));
  }
  for (const auto& c : model.composites) {
    auto s = std::make_unique<composite_state>();
    s->alarm = &c;
    s->rule = rule_parser(c.rule).parse();
    std::vector<std::string> refs;
    collect_alarms(s->rule, refs);
    for (const auto& r : refs) {
      bool found = false;
      for (const auto& a : model.alarms) found |= a.name == r || a.arn == r;
      for (const auto& o : model.composites) found |= o.name == r || o.arn == r;
      if (!found) {
        throw template_error("resource " + c.logical_id + ": AlarmRule names " + r +
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
  std::int64_t t;
  if (clock_) {
    t = *clock_ + step_ms_;
  } else {
    const auto first = store_.first_timestamp().value_or(time_ms);
    t = (first / step_ms_ + 1) * step_ms_;  // the first boundary after the first datapoint
  }
  for (; t <= time_ms; t += step_ms_) {
    tick(t, out);
    clock_ = t;
  }
  return out;
}

void engine::tick(std::int64_t t, std::vector<transition>& out) {
  std::vector<std::string> changed;  // arns of alarms that changed at this tick
  for (auto& ms : metrics_) {
    const auto& a = *ms->alarm;
    const std::int64_t p = ms->period_ms();
    if (p >= 60000 && t % 60000 != 0) continue;  // standard alarms: every minute
    // Periods that ended at or before t; the evaluation range is N + 2 of them.
    const std::int64_t last_start = (t / p) * p - p;
    const std::size_t count = static_cast<std::size_t>(a.evaluation_periods) + 2;
    const auto range_of = [&](const std::vector<std::vector<const sample*>>& per_period,
                              const std::string& stat) {
      std::vector<point> range(count);
      for (std::size_t i = 0; i < count; ++i) {
        range[i].start = last_start - static_cast<std::int64_t>(count - 1 - i) * p;
        std::vector<double> values;
        for (const auto* s : per_period[i]) {
          values.push_back(s->value);
          if (s->epoch) range[i].epoch = s->epoch;
        }
        range[i].value = statistic(stat, values);
      }
      return range;
    };
    const auto bucket = [&](const std::vector<sample>* series) {
      std::vector<std::vector<const sample*>> per(count);
      if (series == nullptr) return per;
      const std::int64_t from = last_start - static_cast<std::int64_t>(count - 1) * p;
      auto it =
          std::lower_bound(series->begin(), series->end(), from,
                           [](const sample& s, std::int64_t v) { return s.timestamp_ms < v; });
      for (; it != series->end() && it->timestamp_ms < last_start + p; ++it) {
        per[static_cast<std::size_t>((it->timestamp_ms - from) / p)].push_back(&*it);
      }
      return per;
    };
    const auto apply = [&](const decision& d, alarm_state& state, const std::string& contributor) {
      if (!d.next || *d.next == state) return false;
      transition tr;
      tr.time_ms = t;
      tr.alarm_name = a.name;
      tr.alarm_arn = a.arn;
      tr.old_state = state;
      tr.new_state = *d.next;
      tr.reason = d.reason;
      tr.epoch = d.epoch;
      tr.metric = &a;
      tr.alarm = &a;
      tr.contributor = contributor;
      if (a.actions_enabled) {
        tr.actions = *d.next == alarm_state::alarm ? a.alarm_actions
                     : *d.next == alarm_state::ok  ? a.ok_actions
                                                   : a.insufficient_data_actions;
      }
      state = *d.next;
      out.push_back(std::move(tr));
      return true;
    };
    if (ms->math) {
      // Metric math: every query over the range plus history (DIFF, RATE and
      // FILL(REPEAT) look back), then the returned id's last N + 2 periods.
      auto& plan = *ms->math;
      constexpr std::size_t history = 20;
      const std::size_t length = history + count;
      const std::int64_t first = last_start - static_cast<std::int64_t>(length - 1) * p;
      std::map<std::string, period_series> values;
      std::vector<std::optional<std::int64_t>> epochs(length);
      for (const auto& [id, q] : plan.stats) {
        auto& series = plan.series[id];
        if (series == nullptr) series = store_.find(q->ns, q->metric_name, q->dimensions);
        period_series v(length);
        if (series != nullptr) {
          auto it = std::lower_bound(
              series->begin(), series->end(), first,
              [](const sample& x, std::int64_t t0) { return x.timestamp_ms < t0; });
          for (std::size_t i = 0; i < length; ++i) {
            const std::int64_t start = first + static_cast<std::int64_t>(i) * p;
            std::vector<double> xs;
            for (; it != series->end() && it->timestamp_ms < start + p; ++it) {
              xs.push_back(it->value);
              if (it->epoch) epochs[i] = it->epoch;
            }
            v[i] = statistic(q->statistic, xs);
          }
        }
        values[id] = std::move(v);
      }
      std::function<const period_series&(const std::string&)> lookup =
          [&](const std::string& id) -> const period_series& {
        if (const auto it = values.find(id); it != values.end()) return it->second;
        const auto e = plan.expressions.find(id);
        if (e == plan.expressions.end())
          throw template_error("resource " + a.logical_id + ": no query " + id);
        period_series v = e->second.evaluate(lookup, first, p, length);
        return values[id] = std::move(v);
      };
      const period_series result = lookup(plan.returned);
      ms->range.resize(count);
      for (std::size_t i = 0; i < count; ++i) {
        auto& pt = ms->range[i];
        pt.start = first + static_cast<std::int64_t>(history + i) * p;
        pt.value = result[history + i];
        if (pt.value && std::isnan(*pt.value)) pt.value.reset();
        pt.epoch = epochs[history + i];
      }
      if (apply(decide(a, ms->range, ms->state), ms->state, "")) changed.push_back(a.arn);
      continue;
    }
    if (!ms->insights) {
      if (ms->series == nullptr && ms->seen_series != store_.series_count()) {
        ms->series = store_.find(a.ns, a.metric_name, a.dimensions);
        ms->seen_series = store_.series_count();
      }
      ms->range.resize(count);
      const std::int64_t from = last_start - static_cast<std::int64_t>(count - 1) * p;
      auto it = ms->series == nullptr ? std::vector<sample>::const_iterator{}
                                      : std::lower_bound(ms->series->begin(), ms->series->end(),
                                                         from, [](const sample& s, std::int64_t v) {
                                                           return s.timestamp_ms < v;
                                                         });
      for (std::size_t i = 0; i < count; ++i) {
        auto& pt = ms->range[i];
        pt.start = from + static_cast<std::int64_t>(i) * p;
        pt.epoch.reset();
        ms->values.clear();
        for (; ms->series != nullptr && it != ms->series->end() && it->timestamp_ms < pt.start + p;
             ++it) {
          ms->values.push_back(it->value);
          if (it->epoch) pt.epoch = it->epoch;
        }
        pt.value = statistic(a.statistic, ms->values);
      }
      if (apply(decide(a, ms->range, ms->state), ms->state, "")) changed.push_back(a.arn);
      continue;
    }
    // Metrics Insights: one time series per GROUP BY value (a contributor);
    // the alarm is in ALARM while any contributor is.
    const auto& q = *ms->insights;
    std::map<std::string, std::vector<std::vector<const sample*>>> groups;
    for (const auto& [dims, series] : store_.with_dimensions(q.ns, q.metric, q.schema_dims)) {
      const auto g = dims.find(q.group_by);
      if (g == dims.end()) continue;
      auto& per = groups[g->second];
      if (per.empty()) per.resize(count);
      auto b = bucket(series);
      for (std::size_t i = 0; i < count; ++i) per[i].insert(per[i].end(), b[i].begin(), b[i].end());
    }
    static const std::map<std::string, std::string> stats = {{"MAX", "Maximum"},
                                                             {"MIN", "Minimum"},
                                                             {"SUM", "Sum"},
                                                             {"AVG", "Average"},
                                                             {"COUNT", "SampleCount"}};
    for (auto& [group, per] : groups) {
      auto& cs = ms->contributors.emplace(group, alarm_state::insufficient_data).first->second;
      const auto before = cs;
      decision d = decide(a, range_of(per, stats.at(q.fn)), cs);
      if (d.next) cs = *d.next;
      (void)before;
    }
    alarm_state overall = alarm_state::insufficient_data;
    std::string who;
    for (const auto& [group, s] : ms->contributors) {
      if (s == alarm_state::alarm) {
        overall = alarm_state::alarm;
        who += (who.empty() ? "" : ", ") + q.group_by + "=" + group;
      } else if (s == alarm_state::ok && overall != alarm_state::alarm) {
        overall = alarm_state::ok;
      }
    }
    decision d;
    if (overall != ms->state) {
      d.next = overall;
      d.reason = overall == alarm_state::alarm
                     ? "Threshold Crossed: contributors in ALARM: " + who + "."
                     : "Threshold Crossed: no contributor is in ALARM.";
    }
    if (apply(d, ms->state, who)) changed.push_back(a.arn);
  }
  // Composite alarms, until nothing changes (they may nest).
  for (bool again = true; again;) {
    again = false;
    for (auto& cs : composites_) {
      std::function<bool(const rule_node&)> eval = [&](const rule_node& n) -> bool {
        switch (n.k) {
          case rule_node::state_fn:
            return state_of(n.alarm) == n.wanted;
          case rule_node::op_and:
            return eval(n.kids[0]) && eval(n.kids[1]);
          case rule_node::op_or:
            return eval(n.kids[0]) || eval(n.kids[1]);
          case rule_node::op_not:
            return !eval(n.kids[0]);
          case rule_node::constant:
            return n.value;
        }
        return false;
      };
      const alarm_state next = eval(cs->rule) ? alarm_state::alarm : alarm_state::ok;
      if (next == cs->state) continue;
      const auto& c = *cs->alarm;
      transition tr;
      tr.time_ms = t;
      tr.alarm_name = c.name;
      tr.alarm_arn = c.arn;
      tr.composite = true;
      tr.old_state = cs->state;
      tr.new_state = next;
      tr.composite_alarm_ = &c;
      tr.alarm = &c;
      std::vector<std::string> refs;
      collect_alarms(cs->rule, refs);
      for (const auto& r : refs) {
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
      changed.push_back(c.arn);
      out.push_back(std::move(tr));
      again = true;
    }
  }
}

}  // namespace fitwatch::tools
