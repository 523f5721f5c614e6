#include "fitwatch/record.hpp"

#include <algorithm>
#include <cmath>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/limits.hpp"
#include "json_writer.hpp"

namespace fitwatch {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  detail::append_json_string(out, s);
  return out;
}

[[noreturn]] void fail(std::string_view what, std::string_view name, std::string_view why) {
  throw error("invalid " + std::string(what) + " " + quoted(name.substr(0, 300)) + ": " +
              std::string(why));
}

// 1..max code points of valid UTF-8.
void check_utf8_name(std::string_view what, std::string_view name, std::size_t max) {
  std::size_t count = 0;
  if (name.empty()) fail(what, name, "empty (1.." + std::to_string(max) + " characters)");
  if (!detail::valid_utf8(name, &count)) fail(what, name, "not valid UTF-8");
  if (count > max) {
    fail(what, name, std::to_string(count) + " characters, more than " + std::to_string(max));
  }
}

}  // namespace

void validate_namespace(std::string_view ns) {
  // API_Metric: 1..255, pattern [^:].*; PutMetricData: ASCII without control
  // characters, and "AWS/" is reserved for AWS services.
  if (ns.empty()) fail("namespace", ns, "empty (1..255 characters)");
  if (ns.size() > limits::max_namespace_length) {
    fail("namespace", ns, std::to_string(ns.size()) + " characters, more than 255");
  }
  for (const char c : ns) {
    if (c < 0x20 || c > 0x7E) fail("namespace", ns, "only printable ASCII characters are allowed");
  }
  if (ns.front() == ':') fail("namespace", ns, "must not start with ':'");
  if (ns.substr(0, 4) == "AWS/") fail("namespace", ns, "\"AWS/\" is reserved for AWS services");
}

void validate_metric_name(std::string_view name) {
  check_utf8_name("metric name", name, limits::max_name_length);
}

void validate_dimension_name(std::string_view name) {
  // API_Dimension: 1..255 ASCII characters, not starting with ':'.
  if (name.empty()) fail("dimension name", name, "empty (1..255 characters)");
  if (name.size() > limits::max_name_length) {
    fail("dimension name", name, std::to_string(name.size()) + " characters, more than 255");
  }
  for (const char c : name) {
    if (static_cast<unsigned char>(c) > 0x7F) fail("dimension name", name, "not ASCII");
  }
  if (name.front() == ':') fail("dimension name", name, "must not start with ':'");
}

void validate_dimension_value(std::string_view name, std::string_view value) {
  check_utf8_name("value of dimension " + quoted(name) + ",", value,
                  limits::max_dimension_value_length);
}

record::record(std::string_view ns) : namespace_(ns) {
  validate_namespace(ns);
  rebuild_dimension_cache();
}

void record::claim(const std::string& name, member_kind kind) {
  static constexpr std::string_view kind_names[] = {"dimension", "metric", "property"};
  if (name == "_aws") throw error("member name \"_aws\" is reserved for EMF metadata");
  const auto [it, inserted] = members_.emplace(name, kind);
  if (!inserted && it->second != kind) {
    throw error("member name " + quoted(name) + " is already used by a " +
                std::string(kind_names[static_cast<int>(it->second)]) +
                "; a dimension, a metric and a property cannot share a name");
  }
}

void record::set_dimensions(const std::vector<dimension_set>& sets) {
  // Validate everything before changing anything, so a bad call leaves the
  // record as it was.
  std::unordered_map<std::string, std::string> values;
  for (const auto& set : sets) {
    if (set.size() > limits::max_dimensions_per_set) {
      throw error("dimension set with " + std::to_string(set.size()) + " dimensions, more than 30");
    }
    for (const auto& d : set) {
      validate_dimension_name(d.name);
      validate_dimension_value(d.name, d.value);
      const auto member = members_.find(d.name);
      if (member != members_.end() && member->second != member_kind::dimension) {
        claim(d.name, member_kind::dimension);  // throws the collision error
      }
      const auto [it, inserted] = values.emplace(d.name, d.value);
      if (!inserted && it->second != d.value) {
        throw error("dimension " + quoted(d.name) + " has two values, " + quoted(it->second) +
                    " and " + quoted(d.value) + "; a dimension is one member of the event");
      }
    }
    for (std::size_t i = 0; i < set.size(); ++i) {
      for (std::size_t j = i + 1; j < set.size(); ++j) {
        if (set[i].name == set[j].name) {
          throw error("dimension " + quoted(set[i].name) + " appears twice in one dimension set");
        }
      }
    }
  }
  for (auto it = members_.begin(); it != members_.end();) {
    it = it->second == member_kind::dimension ? members_.erase(it) : std::next(it);
  }
  for (const auto& [name, value] : values) claim(name, member_kind::dimension);
  sets_ = sets;
  rebuild_dimension_cache();
}

void record::add_dimensions(const dimension_set& set) {
  auto sets = sets_;
  sets.push_back(set);
  set_dimensions(sets);
}

void record::rebuild_dimension_cache() {
  dimension_directive_ = "[";
  dimension_members_.clear();
  std::vector<std::string_view> written;
  for (const auto& set : sets_) {
    if (dimension_directive_.size() > 1) dimension_directive_ += ',';
    dimension_directive_ += '[';
    for (std::size_t i = 0; i < set.size(); ++i) {
      if (i > 0) dimension_directive_ += ',';
      detail::append_json_string(dimension_directive_, set[i].name);
      if (std::find(written.begin(), written.end(), set[i].name) == written.end()) {
        written.push_back(set[i].name);
        dimension_members_ += ',';
        detail::append_json_string(dimension_members_, set[i].name);
        dimension_members_ += ':';
        detail::append_json_string(dimension_members_, set[i].value);
      }
    }
    dimension_directive_ += ']';
  }
  // No dimension set at all: one empty set, a metric without dimensions.
  dimension_directive_ += sets_.empty() ? "[]]" : "]";
  cached_chunk_valid_ = false;
}

metric_id record::metric(std::string_view name, unit u, resolution r) {
  validate_metric_name(name);
  std::string key(name);
  if (const auto found = metric_index_.find(key); found != metric_index_.end()) {
    const auto& slot = metrics_[found->second];
    if (slot.unit_ != u || slot.resolution_ != r) {
      throw error("metric " + quoted(name) + " declared again with another unit or resolution (" +
                  std::string(to_string(slot.unit_)) + "/" +
                  std::to_string(static_cast<int>(slot.resolution_)) + " then " +
                  std::string(to_string(u)) + "/" + std::to_string(static_cast<int>(r)) + ")");
    }
    return metric_id{found->second};
  }
  if (r != resolution::high && r != resolution::standard) {
    throw error("metric " + quoted(name) + ": storage resolution must be 1 or 60");
  }
  if (static_cast<std::size_t>(u) >= unit_count) {
    throw error("metric " + quoted(name) + ": unknown unit");
  }
  claim(key, member_kind::metric);
  metric_slot slot{key, u, r, {}, {}, {}};
  slot.definition = "{\"Name\":";
  detail::append_json_string(slot.definition, name);
  slot.definition += ",\"Unit\":";
  detail::append_json_string(slot.definition, to_string(u));
  if (r == resolution::high) slot.definition += ",\"StorageResolution\":1";
  slot.definition += '}';
  slot.key = ",";
  detail::append_json_string(slot.key, name);
  slot.key += ':';
  const auto index = static_cast<std::uint32_t>(metrics_.size());
  metrics_.push_back(std::move(slot));
  metric_index_.emplace(std::move(key), index);
  return metric_id{index};
}

property_id record::property(std::string_view name) {
  check_utf8_name("property name", name, limits::max_name_length);
  std::string key(name);
  if (const auto found = property_index_.find(key); found != property_index_.end()) {
    return property_id{found->second};
  }
  claim(key, member_kind::property);
  property_slot slot{",", {}};
  detail::append_json_string(slot.key, name);
  slot.key += ':';
  const auto index = static_cast<std::uint32_t>(properties_.size());
  properties_.push_back(std::move(slot));
  property_index_.emplace(std::move(key), index);
  return property_id{index};
}

bool record::put(metric_id id, double value) noexcept {
  if (id.index >= metrics_.size()) {
    ++dropped_values_;
    detail::report("fitwatch: value for an unknown metric id dropped");
    return false;
  }
  auto& slot = metrics_[id.index];
  if (!std::isfinite(value)) {
    ++dropped_values_;
    detail::report("fitwatch: non-finite value of metric \"" + slot.name +
                   "\" dropped (CloudWatch accepts only finite numbers); " +
                   std::to_string(dropped_values_) + " dropped so far");
    return false;
  }
  try {
    slot.values.push_back(value);
  } catch (...) {  // out of memory: lose the value, not the process
    ++dropped_values_;
    return false;
  }
  ++pending_;
  return true;
}

void record::set(property_id id, double value) noexcept {
  if (id.index >= properties_.size()) return;
  // A property is not a metric, but a non-finite number would still make
  // the line invalid JSON: it is written as null.
  if (std::isfinite(value)) {
    properties_[id.index].value = value;
  } else {
    properties_[id.index].value = std::monostate{};
    detail::report("fitwatch: non-finite property value written as null");
  }
}

void record::set(property_id id, std::int64_t value) noexcept {
  if (id.index < properties_.size()) properties_[id.index].value = value;
}

void record::set(property_id id, bool value) noexcept {
  if (id.index < properties_.size()) properties_[id.index].value = value;
}

void record::set(property_id id, std::string_view value) noexcept {
  if (id.index >= properties_.size()) return;
  auto& slot = properties_[id.index].value;
  const std::size_t keep = detail::utf8_cut(value, limits::max_property_bytes);
  if (keep < value.size()) {
    detail::report("fitwatch: string property of " + std::to_string(value.size()) +
                   " bytes cut to " + std::to_string(keep));
  }
  try {
    if (auto* s = std::get_if<std::string>(&slot)) {
      s->assign(value.data(), keep);  // reuses the capacity
    } else {
      slot = std::string(value.substr(0, keep));
    }
  } catch (...) {
    slot = std::monostate{};
  }
}

void record::unset(property_id id) noexcept {
  if (id.index < properties_.size()) properties_[id.index].value = std::monostate{};
}

void record::write_event(std::int64_t timestamp_ms, const std::vector<std::uint32_t>& chunk,
                         std::size_t round) {
  if (!cached_chunk_valid_ || chunk != cached_chunk_) {
    cached_prefix_ = "{\"_aws\":{\"CloudWatchMetrics\":[{\"Namespace\":";
    detail::append_json_string(cached_prefix_, namespace_);
    cached_prefix_ += ",\"Dimensions\":";
    cached_prefix_ += dimension_directive_;
    cached_prefix_ += ",\"Metrics\":[";
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (i > 0) cached_prefix_ += ',';
      cached_prefix_ += metrics_[chunk[i]].definition;
    }
    cached_prefix_ += "]}],\"Timestamp\":";
    cached_chunk_ = chunk;
    cached_chunk_valid_ = true;
  }
  line_.assign(cached_prefix_);
  detail::append_number(line_, timestamp_ms);
  line_ += '}';
  line_ += dimension_members_;
  const std::size_t before_properties = line_.size();
  for (const auto& p : properties_) {
    if (std::holds_alternative<std::monostate>(p.value)) continue;
    line_ += p.key;
    if (const auto* d = std::get_if<double>(&p.value)) {
      detail::append_number(line_, *d);
    } else if (const auto* i = std::get_if<std::int64_t>(&p.value)) {
      detail::append_number(line_, *i);
    } else if (const auto* b = std::get_if<bool>(&p.value)) {
      line_ += *b ? "true" : "false";
    } else {
      detail::append_json_string(line_, std::get<std::string>(p.value));
    }
  }
  const std::size_t metrics_start = line_.size();
  const std::size_t first = round * limits::max_values_per_metric;
  for (const auto index : chunk) {
    const auto& values = metrics_[index].values;
    const std::size_t last = std::min(values.size(), first + limits::max_values_per_metric);
    line_ += metrics_[index].key;
    if (last - first == 1) {
      detail::append_number(line_, values[first]);
      continue;
    }
    line_ += '[';
    for (std::size_t v = first; v < last; ++v) {
      if (v > first) line_ += ',';
      detail::append_number(line_, values[v]);
    }
    line_ += ']';
  }
  line_ += "}\n";
  if (line_.size() > limits::max_event_bytes) {
    // Only properties can get here (see the header): write the event without them.
    std::string values = line_.substr(metrics_start);
    line_.resize(before_properties);
    line_ += values;
    detail::report("fitwatch: event over 1 MB; written without its properties");
  }
}

void record::serialize(std::int64_t timestamp_ms,
                       const std::function<void(std::string_view)>& out) {
  if (pending_ == 0) return;
  present_.clear();
  std::size_t rounds = 0;
  for (std::uint32_t i = 0; i < metrics_.size(); ++i) {
    const std::size_t n = metrics_[i].values.size();
    if (n == 0) continue;
    present_.push_back(i);
    rounds =
        std::max(rounds, (n + limits::max_values_per_metric - 1) / limits::max_values_per_metric);
  }
  // Round r carries values [100r, 100r+100) of every metric that has them;
  // each round is cut into events of at most 100 metric definitions.
  for (std::size_t round = 0; round < rounds; ++round) {
    const std::size_t first = round * limits::max_values_per_metric;
    chunk_.clear();
    for (const auto index : present_) {
      if (metrics_[index].values.size() <= first) continue;
      chunk_.push_back(index);
      if (chunk_.size() == limits::max_metrics_per_event) {
        write_event(timestamp_ms, chunk_, round);
        out(line_);
        chunk_.clear();
      }
    }
    if (!chunk_.empty()) {
      write_event(timestamp_ms, chunk_, round);
      out(line_);
    }
  }
  for (const auto index : present_) metrics_[index].values.clear();
  pending_ = 0;
}

}  // namespace fitwatch
