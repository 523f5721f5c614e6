#include "diagnose.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <set>

#include "alarms/insights.hpp"
#include "cfn/decimal.hpp"

namespace fitwatch::cli {
namespace {

constexpr std::size_t max_shown = 5;            // items of a list in a message
constexpr std::size_t max_alarms = 10;          // alarms that read nothing, shown
constexpr std::size_t max_looked = 20;          // plain lines looked at
constexpr std::size_t max_text = 80;            // characters of a name or value shown
constexpr std::size_t max_line_metrics = 1000;  // the fast path's memory
constexpr std::size_t max_first = 64;           // distinct metrics compared before the set

// A name or value from the log as it may be shown on a terminal: control
// characters escaped, long ones cut.
std::string shown(std::string_view s) {
  return printable(s.substr(0, max_text)) + (s.size() > max_text ? "..." : "");
}

// At most max_shown items, then "and K more".
std::string bounded_list(const std::vector<std::string>& items, std::size_t total) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max_shown; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (total > max_shown) out += " and " + std::to_string(total - max_shown) + " more";
  return out;
}

template <class Dimensions>
std::string dimension_set(const Dimensions& dims) {
  if (dims.empty()) return "no dimensions";
  std::string out = "{";
  for (const auto& [k, v] : dims) {
    if (out.size() > 1) out += ", ";
    out += shown(k) + "=" + shown(v);
  }
  return out + "}";
}

std::string trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(" \t\r") - first + 1));
}

// "1,0.52,0.61" or "3, 0.4, nan": the first two fields are numbers.
bool csv_of_numbers(std::string_view line) {
  std::vector<std::string> fields;
  for (std::size_t at = 0;;) {
    const auto comma = line.find(',', at);
    fields.push_back(
        trimmed(line.substr(at, comma == std::string_view::npos ? comma : comma - at)));
    if (comma == std::string_view::npos || fields.size() > 2) break;
    at = comma + 1;
  }
  if (fields.size() < 2) return false;
  for (std::size_t i = 0; i < 2; ++i) {
    std::string f = fields[i];
    std::transform(f.begin(), f.end(), f.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!cfn::decimal_value(f) && f != "nan" && f != "inf" && f != "-inf") return false;
  }
  return true;
}

// What one alarm reads: a metric (ns, name) with exactly these dimensions,
// or, for Metrics Insights, with exactly these dimension names.
struct wanted_metric {
  std::string ns, name;
  std::vector<std::pair<std::string, std::string>> dimensions;
  std::optional<std::vector<std::string>> schema;  // Metrics Insights
};

std::vector<wanted_metric> metrics_of(const alarms::metric_alarm& a) {
  if (a.metrics.empty()) return {{a.ns, a.metric_name, a.dimensions, std::nullopt}};
  std::vector<wanted_metric> out;
  for (const auto& q : a.metrics) {
    if (q.expression.empty()) {
      out.push_back({q.ns, q.metric_name, q.dimensions, std::nullopt});
    } else if (const auto i = alarms::parse_insights(q.expression, "resource " + a.logical_id)) {
      out.push_back({i->ns, i->metric, {}, i->schema_dims});
    }
  }
  return out;
}

bool found(const alarms::metric_store& store, const wanted_metric& w) {
  if (w.schema) return !store.with_dimensions(w.ns, w.name, *w.schema).empty();
  return store.find(w.ns, w.name, w.dimensions) != nullptr;
}

std::string expected(const wanted_metric& w) {
  std::string out = shown(w.ns) + " / " + shown(w.name) + " with ";
  if (!w.schema) return out + dimension_set(w.dimensions);
  std::vector<std::string> names;
  for (const auto& n : *w.schema) names.push_back(shown(n));
  return out + "the dimension names (" + bounded_list(names, names.size()) +
         ") (Metrics Insights SCHEMA)";
}

// What the log holds in place of `w`, nearest first: the same metric with
// other dimensions, the same name in other namespaces, other names in the
// same namespace, other namespaces.
std::string held(const alarms::metric_store& store, const log_inventory& inventory,
                 const wanted_metric& w) {
  auto sets = store.dimension_sets(w.ns, w.name);
  if (!sets.empty()) {
    std::sort(sets.begin(), sets.end());
    std::vector<std::string> items;
    for (std::size_t i = 0; i < sets.size() && i < max_shown; ++i)
      items.push_back(dimension_set(sets[i]));
    return "the log has " + shown(w.ns) + " / " + shown(w.name) + " only with " +
           bounded_list(items, sets.size());
  }
  std::vector<std::string> namespaces, names;
  std::size_t other_ns = 0, same_ns = 0;
  std::map<std::string, std::size_t> all_ns;
  for (const auto& [ns, name] : inventory.metrics()) {
    ++all_ns[ns];
    if (name == w.name && ns != w.ns && other_ns++ < max_shown) namespaces.push_back(shown(ns));
    if (ns == w.ns && same_ns++ < max_shown) names.push_back(shown(name));
  }
  const std::string more = inventory.more_metrics() ? " (and more, not all kept)" : "";
  if (other_ns > 0) {
    return "the log has " + shown(w.name) + " only in namespace " +
           bounded_list(namespaces, other_ns) + more;
  }
  if (same_ns > 0) {
    return "the log has no metric " + shown(w.name) + "; namespace " + shown(w.ns) + " has " +
           bounded_list(names, same_ns) + more;
  }
  std::vector<std::string> items;
  for (const auto& [ns, count] : all_ns) {
    if (items.size() == max_shown) break;
    items.push_back(shown(ns) + " (" + std::to_string(count) + " metric" + (count == 1 ? "" : "s") +
                    ")");
  }
  return "the log has no namespace " + shown(w.ns) + "; it has " +
         bounded_list(items, all_ns.size()) + more;
}

int explain_no_event(const log_inventory& inventory, const log_counts& c, std::ostream& err) {
  if (c.lines == 0) {
    err << "fitwatch: the log is empty: no EMF event, no alarm can change state\n";
    return exit_no_match;
  }
  err << "fitwatch: no EMF event to evaluate in the log (" << c.lines
      << (c.lines == 1 ? " line: " : " lines: ") << c.lines - c.events - c.invalid << " plain, "
      << c.invalid << " invalid EMF";
  if (c.rejected > 0) err << ", " << c.rejected << " outside CloudWatch's time window";
  err << "): no alarm can change state\n";
  if (inventory.looks_like_csv()) {
    err << "hint: this looks like a CSV of losses: turn it into EMF with `fitwatch emit` "
           "(see fitwatch emit --help), e.g. fitwatch emit < losses.csv > training.log\n";
  } else if (inventory.looks_like_json()) {
    err << "hint: these are JSON objects without `_aws`, not EMF; evaluations (epoch, "
           "train_loss, val_loss) turn into EMF with `fitwatch emit` (see fitwatch emit "
           "--help)\n";
  } else if (c.events == 0 && c.invalid == 0) {
    err << "hint: an EMF event is a JSON object with an `_aws` member (`fitwatch validate` "
           "checks a log); losses printed by a script turn into EMF with `fitwatch emit`\n";
  }
  return exit_no_match;
}

}  // namespace

void log_inventory::metric(std::string_view ns, std::string_view name) {
  // Fast paths: the metric at this position of the line before (a log
  // whose lines all look alike), then the first distinct metrics (lines of
  // a few kinds that alternate); the set only for new ones.
  const std::size_t k = position_++;
  if (k < last_line_.size() && last_line_[k].second == name && last_line_[k].first == ns) return;
  if (k < max_line_metrics) {
    if (k >= last_line_.size()) last_line_.resize(k + 1);
    last_line_[k].first.assign(ns);  // reuses the strings' memory
    last_line_[k].second.assign(name);
  }
  for (const auto* p : first_) {
    if (p->second == name && p->first == ns) return;
  }
  if (seen_.size() < max_kept) {
    const auto [it, fresh] = seen_.emplace(ns, name);
    if (fresh && first_.size() < max_first) first_.push_back(&*it);
  } else if (!overflow_) {
    overflow_ = seen_.count({std::string(ns), std::string(name)}) == 0;
  }
}

void log_inventory::plain(std::string_view line) {
  if (looked_ == max_looked) return;
  const auto text = trimmed(line);
  if (text.empty()) return;
  ++looked_;
  if (csv_of_numbers(text)) {
    ++csv_;
  } else if (text.front() == '{') {
    ++json_;
  }
}

int explain_no_match(const alarms::template_model& model, const alarms::metric_store& store,
                     const log_inventory& inventory, const log_counts& counts, bool notes,
                     std::ostream& err) {
  if (!store.last_timestamp()) return explain_no_event(inventory, counts, err);
  std::vector<std::string> blocks;
  for (const auto& a : model.alarms) {
    const auto wanted = metrics_of(a);
    if (std::any_of(wanted.begin(), wanted.end(),
                    [&](const wanted_metric& w) { return found(store, w); })) {
      continue;
    }
    std::string block;
    for (const auto& w : wanted) {
      block += "  alarm " + shown(a.name) + " expects " + expected(w) + "\n    " +
               held(store, inventory, w) + "\n";
    }
    blocks.push_back(block);
  }
  const bool none = blocks.size() == model.alarms.size();
  if (blocks.empty() || (!none && !notes)) return 0;
  if (none) {
    err << "fitwatch: no alarm read any datapoint of the log: its metrics differ from what the "
           "alarms expect (namespace, metric name or dimension values; check --param)\n";
  } else {
    err << "fitwatch: note: " << blocks.size() << " of " << model.alarms.size()
        << " alarms read no datapoint of the log:\n";
  }
  for (std::size_t i = 0; i < blocks.size() && i < max_alarms; ++i) err << blocks[i];
  if (blocks.size() > max_alarms)
    err << "  and " << blocks.size() - max_alarms << " more alarms that read nothing\n";
  return none ? exit_no_match : 0;
}

std::size_t note_unknown_topics(const alarms::template_model& model, std::ostream& err) {
  std::set<std::string> known, unknown;
  for (const auto& t : model.topics) known.insert(t.arn);
  const auto check = [&](const alarms::alarm_common& a) {
    for (const auto* list : {&a.alarm_actions, &a.ok_actions, &a.insufficient_data_actions}) {
      for (const auto& arn : *list) {
        if (arn.rfind("arn:", 0) == 0 && arn.find(":sns:") != std::string::npos &&
            known.count(arn) == 0 && unknown.insert(arn).second) {
          err << "fitwatch: note: alarm " << shown(a.name) << " notifies " << shown(arn)
              << ", a topic no given template creates: its emails are not rendered (add the "
                 "team stack's template with another --template, or check the ARN)\n";
        }
      }
    }
  };
  for (const auto& a : model.alarms) check(a);
  for (const auto& a : model.composites) check(a);
  return unknown.size();
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace fitwatch::cli
