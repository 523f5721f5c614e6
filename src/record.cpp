#include "fitwatch/record.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "cloudwatch_names.hpp"
#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/limits.hpp"
#include "frame.hpp"
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

namespace detail {
// Everything about an event that does not change from one evaluation to the
// next, pre-encoded as JSON. Immutable once built; frames share it.
struct layout {
  std::string head;  // {"_aws":{"CloudWatchMetrics":[{"Namespace":..,"Dimensions":..,"Metrics":[
  std::string dimension_members;           // ,"A":"x","B":"y"
  std::vector<std::string> definitions;    // per metric: {"Name":..,"Unit":..}
  std::vector<std::string> metric_keys;    // per metric: ,"Name":
  std::vector<std::string> property_keys;  // per property: ,"name":
};
}  // namespace detail

frame::frame() = default;
frame::~frame() = default;
frame::frame(frame&&) noexcept = default;
frame& frame::operator=(frame&&) noexcept = default;

void check_namespace(std::string_view ns) {
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

void check_metric_name(std::string_view name) {
  check_utf8_name("metric name", name, limits::max_name_length);
}

namespace {
// API_Dimension: names and values "must contain only ASCII characters and
// must include at least one non-whitespace character. ASCII control
// characters are not supported"; names 1..255, values 1..1024.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html
void check_dimension_text(std::string_view what, std::string_view text, std::size_t max) {
  if (text.empty()) fail(what, text, "empty (1.." + std::to_string(max) + " characters)");
  if (text.size() > max) {
    fail(what, text, std::to_string(text.size()) + " characters, more than " + std::to_string(max));
  }
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x7F) fail(what, text, "not ASCII (CloudWatch accepts only ASCII)");
    if (u < 0x20 || u == 0x7F) fail(what, text, "contains an ASCII control character");
  }
  if (text.find_first_not_of(' ') == std::string_view::npos) {
    fail(what, text, "only whitespace (at least one other character is required)");
  }
}
}  // namespace

void check_dimension_name(std::string_view name) {
  check_dimension_text("dimension name", name, limits::max_name_length);
  if (name.front() == ':') fail("dimension name", name, "must not start with ':'");
}

void check_dimension_value(std::string_view name, std::string_view value) {
  check_dimension_text("value of dimension " + quoted(name) + ",", value,
                       limits::max_dimension_value_length);
}

record::record(std::string_view ns) : namespace_(ns) {
  check_namespace(ns);
  rebuild_layout();
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
      check_dimension_name(d.name);
      check_dimension_value(d.name, d.value);
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
  rebuild_layout();
}

void record::add_dimensions(const dimension_set& set) {
  auto sets = sets_;
  sets.push_back(set);
  set_dimensions(sets);
}

void record::rebuild_layout() {
  auto l = std::make_shared<detail::layout>();
  l->head = "{\"_aws\":{\"CloudWatchMetrics\":[{\"Namespace\":";
  detail::append_json_string(l->head, namespace_);
  l->head += ",\"Dimensions\":[";
  std::vector<std::string_view> written;
  for (std::size_t s = 0; s < sets_.size(); ++s) {
    l->head += s > 0 ? ",[" : "[";
    for (std::size_t i = 0; i < sets_[s].size(); ++i) {
      const auto& d = sets_[s][i];
      if (i > 0) l->head += ',';
      detail::append_json_string(l->head, d.name);
      if (std::find(written.begin(), written.end(), d.name) == written.end()) {
        written.push_back(d.name);
        l->dimension_members += ',';
        detail::append_json_string(l->dimension_members, d.name);
        l->dimension_members += ':';
        detail::append_json_string(l->dimension_members, d.value);
      }
    }
    l->head += ']';
  }
  // No dimension set at all: one empty set, a metric without dimensions.
  l->head += sets_.empty() ? "[]],\"Metrics\":[" : "],\"Metrics\":[";
  for (const auto& m : metrics_) {
    std::string def = "{\"Name\":";
    detail::append_json_string(def, m.name);
    def += ",\"Unit\":";
    detail::append_json_string(def, to_string(m.unit_));
    if (m.resolution_ == resolution::high) def += ",\"StorageResolution\":1";
    def += '}';
    l->definitions.push_back(std::move(def));
    std::string key = ",";
    detail::append_json_string(key, m.name);
    key += ':';
    l->metric_keys.push_back(std::move(key));
  }
  for (const auto& name : property_names_) {
    std::string key = ",";
    detail::append_json_string(key, name);
    key += ':';
    l->property_keys.push_back(std::move(key));
  }
  layout_ = std::move(l);
}

metric_id record::metric(std::string_view name, unit u, resolution r) {
  check_metric_name(name);
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
  const auto index = static_cast<std::uint32_t>(metrics_.size());
  metrics_.push_back({key, u, r});
  values_.emplace_back();
  metric_index_.emplace(std::move(key), index);
  rebuild_layout();
  return metric_id{index};
}

property_id record::property(std::string_view name) {
  check_utf8_name("property name", name, limits::max_name_length);
  std::string key(name);
  if (const auto found = property_index_.find(key); found != property_index_.end()) {
    return property_id{found->second};
  }
  claim(key, member_kind::property);
  const auto index = static_cast<std::uint32_t>(properties_.size());
  property_names_.push_back(key);
  properties_.emplace_back();
  property_index_.emplace(std::move(key), index);
  rebuild_layout();
  return property_id{index};
}

bool record::put(metric_id id, double value) noexcept {
  if (id.index >= metrics_.size()) {
    ++dropped_values_;
    detail::report("fitwatch: value for an unknown metric id dropped");
    return false;
  }
  if (!std::isfinite(value)) {
    ++dropped_values_;
    detail::report("fitwatch: non-finite value of metric \"" + metrics_[id.index].name +
                   "\" dropped (CloudWatch accepts only finite numbers); " +
                   std::to_string(dropped_values_) + " dropped so far");
    return false;
  }
  try {
    values_[id.index].push_back(value);
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
    properties_[id.index] = value;
  } else {
    properties_[id.index] = std::monostate{};
    detail::report("fitwatch: non-finite property value written as null");
  }
}

void record::set(property_id id, std::int64_t value) noexcept {
  if (id.index < properties_.size()) properties_[id.index] = value;
}

void record::set(property_id id, bool value) noexcept {
  if (id.index < properties_.size()) properties_[id.index] = value;
}

void record::set(property_id id, std::string_view value) noexcept {
  if (id.index >= properties_.size()) return;
  auto& slot = properties_[id.index];
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
  if (id.index < properties_.size()) properties_[id.index] = std::monostate{};
}

void record::discard() noexcept {
  for (auto& v : values_) v.clear();
  pending_ = 0;
}

bool record::take(frame& f, std::int64_t timestamp_ms) noexcept {
  if (pending_ == 0) return false;
  if (timestamp_ms < 0) {
    // EMF's Timestamp is a non-negative integer (ms since the epoch): a line
    // with a negative one is invalid and CloudWatch extracts nothing from it.
    // The values are kept, stamped now (issue 25, M5).
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    detail::report("fitwatch: timestamp " + std::to_string(timestamp_ms) +
                   " is negative (EMF takes ms since the epoch); the line is stamped with the "
                   "current time");
    timestamp_ms = now;
  }
  try {
    if (f.layout_ != layout_) f.layout_ = layout_;
    f.timestamp_ms_ = timestamp_ms;
    f.offsets_.resize(values_.size() + 1);
    f.values_.resize(pending_);
    std::uint32_t at = 0;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      f.offsets_[i] = at;
      std::copy(values_[i].begin(), values_[i].end(), f.values_.begin() + at);
      at += static_cast<std::uint32_t>(values_[i].size());
    }
    f.offsets_[values_.size()] = at;
    f.properties_.resize(properties_.size());
    for (std::size_t i = 0; i < properties_.size(); ++i) f.properties_[i] = properties_[i];
    f.pending_ = pending_;
  } catch (...) {  // out of memory: this evaluation is lost, the training goes on
    f.pending_ = 0;
  }
  discard();
  return f.pending_ > 0;
}

struct record::serialize_buffers {
  frame f;
  serializer s;
};

record::record(record&&) noexcept = default;
record& record::operator=(record&&) noexcept = default;
record::~record() = default;

void record::serialize(std::int64_t timestamp_ms,
                       const std::function<void(std::string_view)>& out) {
  if (pending_ == 0) return;
  if (!buffers_) buffers_ = std::make_unique<serialize_buffers>();
  if (take(buffers_->f, timestamp_ms)) buffers_->s.write(buffers_->f, out);
}

namespace {
// Between the metric definitions and the timestamp of every line.
constexpr std::string_view timestamp_key = "]}],\"Timestamp\":";
// The longest text of one finite double (-1.7976931348623157e+308).
constexpr std::size_t max_number_bytes = 24;
}  // namespace

void serializer::select_properties(const frame& f, std::size_t fixed) {
  // Properties may take half of what a line leaves after the namespace,
  // dimensions and timestamp (and always leave room for one value of any
  // metric); the other half is for metrics. A property is kept, in
  // declaration order, if it fits in that budget with those kept before it.
  // Every line of the evaluation carries the same properties; those left
  // out are reported. Metrics, which alarms watch, never give way to them.
  const auto& l = *f.layout_;
  std::size_t widest_metric = 0;
  for (const auto index : present_) {
    widest_metric = std::max(widest_metric, l.definitions[index].size() +
                                                l.metric_keys[index].size() + max_number_bytes + 1);
  }
  const std::size_t room = max_line_ + 1 > fixed ? max_line_ + 1 - fixed : 0;
  const std::size_t budget = room > widest_metric ? std::min(room / 2, room - widest_metric) : 0;
  properties_.clear();
  std::string_view left_out;
  std::size_t left_out_count = 0;
  line_.clear();  // scratch: each property is formatted here first
  const std::size_t start = 0;
  for (std::size_t p = 0; p < f.properties_.size() && p < l.property_keys.size(); ++p) {
    const auto& value = f.properties_[p];
    if (std::holds_alternative<std::monostate>(value)) continue;
    line_.resize(start);
    line_ += l.property_keys[p];
    if (const auto* d = std::get_if<double>(&value)) {
      detail::append_number(line_, *d);
    } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
      detail::append_number(line_, *i);
    } else if (const auto* b = std::get_if<bool>(&value)) {
      line_ += *b ? "true" : "false";
    } else {
      detail::append_json_string(line_, std::get<std::string>(value));
    }
    const std::size_t bytes = line_.size() - start;
    if (properties_.size() + bytes <= budget) {
      properties_.append(line_, start, bytes);
    } else {
      if (left_out_count++ == 0) left_out = l.property_keys[p];
    }
  }
  line_.resize(start);
  if (left_out_count > 0) {
    left_out.remove_prefix(1);  // the leading ','
    left_out.remove_suffix(1);  // the trailing ':'
    detail::report("fitwatch: " + std::to_string(left_out_count) + " propert" +
                   (left_out_count == 1 ? "y" : "ies") + " (first: " + std::string(left_out) +
                   ") left out of the metric lines: a line holds at most " +
                   std::to_string(max_line_) +
                   " bytes with the dimensions and one metric value (max_line_bytes)");
  }
}

void serializer::format_values(const frame& f, std::uint32_t index, std::size_t first,
                               std::size_t last) {
  const double* values = f.values_.data() + f.offsets_[index];
  auto& text = values_[index];
  text.clear();
  if (last - first == 1) {
    detail::append_number(text, values[first]);
    return;
  }
  text += '[';
  for (std::size_t v = first; v < last; ++v) {
    if (v > first) text += ',';
    detail::append_number(text, values[v]);
  }
  text += ']';
}

void serializer::emit_line(const frame& f, const std::function<void(std::string_view)>& out) {
  const auto& l = *f.layout_;
  line_.assign(l.head);
  for (std::size_t i = 0; i < group_.size(); ++i) {
    if (i > 0) line_ += ',';
    line_ += l.definitions[group_[i]];
  }
  line_ += timestamp_key;
  line_ += timestamp_;
  line_ += '}';
  line_ += l.dimension_members;
  line_ += properties_;
  for (const auto index : group_) {
    line_ += l.metric_keys[index];
    line_ += values_[index];
  }
  line_ += "}\n";
  if (line_.size() > max_line_) {
    // Only a namespace and dimensions too long for the limit get here.
    detail::report("fitwatch: an EMF line of " + std::to_string(line_.size()) +
                   " bytes is over the limit of " + std::to_string(max_line_) +
                   " (the namespace and dimensions alone nearly fill it)");
  }
  out(line_);
  group_.clear();
}

void serializer::emit_split(const frame& f, std::uint32_t index, std::size_t first,
                            std::size_t last, const std::function<void(std::string_view)>& out) {
  // One metric's values of this round do not fit in one line: as many per
  // line as fit, at least one.
  const auto& l = *f.layout_;
  const std::size_t room = base_ + l.definitions[index].size() + l.metric_keys[index].size() + 1;
  const double* values = f.values_.data() + f.offsets_[index];
  std::size_t v = first;
  while (v < last) {
    std::size_t end = v + 1;
    std::size_t bytes = 2 + max_number_bytes;  // [x]
    while (end < last) {
      std::string& scratch = values_[index];
      scratch.clear();
      detail::append_number(scratch, values[end]);
      if (room + bytes + 1 + scratch.size() > max_line_) break;
      bytes += 1 + scratch.size();
      ++end;
    }
    format_values(f, index, v, end);
    group_.push_back(index);
    emit_line(f, out);
    v = end;
  }
}

void serializer::write(const frame& f, const std::function<void(std::string_view)>& out) {
  if (f.pending_ == 0 || !f.layout_) return;
  const auto& l = *f.layout_;
  present_.clear();
  std::size_t rounds = 0;
  const std::size_t metric_count = std::min(f.offsets_.size() - 1, l.metric_keys.size());
  for (std::uint32_t i = 0; i < metric_count; ++i) {
    const std::size_t n = f.offsets_[i + 1] - f.offsets_[i];
    if (n == 0) continue;
    present_.push_back(i);
    rounds =
        std::max(rounds, (n + limits::max_values_per_metric - 1) / limits::max_values_per_metric);
  }
  if (values_.size() < metric_count) values_.resize(metric_count);
  timestamp_.clear();
  detail::append_number(timestamp_, f.timestamp_ms_);
  // A line without metrics: head, "]}],"Timestamp":", time, '}', dimensions, "}\n".
  const std::size_t fixed =
      l.head.size() + timestamp_key.size() + timestamp_.size() + 1 + l.dimension_members.size() + 2;
  select_properties(f, fixed);
  // A line of metrics m1..mk is base_ + sum(definition + key + values + 1)
  // bytes (the +1s are the commas between k definitions, plus one).
  base_ = fixed + properties_.size() - 1;
  // Round r carries values [100r, 100r+100) of every metric that has them
  // (EMF: at most 100 values per metric); each round is packed into lines of
  // at most 100 metric definitions and max_line_ bytes.
  group_.clear();
  for (std::size_t round = 0; round < rounds; ++round) {
    const std::size_t first = round * limits::max_values_per_metric;
    std::size_t used = base_;
    for (const auto index : present_) {
      const std::size_t size = f.offsets_[index + 1] - f.offsets_[index];
      if (size <= first) continue;
      const std::size_t last = std::min(size, first + limits::max_values_per_metric);
      format_values(f, index, first, last);
      const std::size_t cost =
          l.definitions[index].size() + l.metric_keys[index].size() + values_[index].size() + 1;
      if (base_ + cost > max_line_) {
        if (!group_.empty()) emit_line(f, out);
        used = base_;
        emit_split(f, index, first, last, out);
        continue;
      }
      if (!group_.empty() &&
          (used + cost > max_line_ || group_.size() == limits::max_metrics_per_event)) {
        emit_line(f, out);
        used = base_;
      }
      group_.push_back(index);
      used += cost;
    }
    if (!group_.empty()) emit_line(f, out);
  }
}

}  // namespace fitwatch
