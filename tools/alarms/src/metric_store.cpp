#include "alarms/metric_store.hpp"

#include <algorithm>

#include "alarms/cloudwatch_text.hpp"

namespace fitwatch::alarms {
namespace {

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

}  // namespace

bool metric_store::add(const emf::extracted_event& event, std::size_t line) {
  const auto ts = event.timestamp_ms;
  if (ts < 0 || ts > max_time_ms) return false;
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
      ++held_;
    }
  }
  return true;
}

namespace {
auto first_at_or_after(const std::vector<sample>& samples, std::int64_t time_ms) {
  return std::lower_bound(samples.begin(), samples.end(), time_ms,
                          [](const sample& s, std::int64_t t) { return s.timestamp_ms < t; });
}
}  // namespace

void metric_store::forget_before(std::int64_t time_ms) {
  for (auto& [key, s] : series_) {
    const auto dead = first_at_or_after(s.samples, time_ms) - s.samples.begin();
    if (dead == 0 || 2 * static_cast<std::size_t>(dead) < s.samples.size()) continue;
    s.samples.erase(s.samples.begin(), s.samples.begin() + dead);
    held_ -= static_cast<std::size_t>(dead);
  }
}

std::optional<std::int64_t> metric_store::next_timestamp(std::int64_t time_ms) const {
  std::optional<std::int64_t> next;
  for (const auto& [key, s] : series_) {
    const auto it = first_at_or_after(s.samples, time_ms);
    if (it != s.samples.end() && (!next || it->timestamp_ms < *next)) next = it->timestamp_ms;
  }
  return next;
}

emf::line_report metric_store::add_line(
    std::string_view line, std::size_t number,
    const std::function<bool(std::string_view, std::string_view)>& wanted) {
  auto r = emf::validate_line(line, {}, &scratch_, wanted);
  if (r.kind == emf::line_kind::emf && !add(scratch_, number)) {
    r.kind = emf::line_kind::invalid;
    r.errors.push_back("_aws.Timestamp is after year 9999");
  }
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

std::vector<std::map<std::string, std::string>> metric_store::dimension_sets(
    const std::string& ns, const std::string& name) const {
  std::vector<std::map<std::string, std::string>> out;
  for (const auto& [key, s] : series_) {
    if (s.ns == ns && s.name == name) out.push_back(s.dims);
  }
  return out;
}

}  // namespace fitwatch::alarms
