#include "emf/inspect.hpp"

#include <simdjson.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "fitwatch/limits.hpp"
#include "fitwatch/unit.hpp"

namespace fitwatch::emf {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// API_Dimension: names and values "must contain only ASCII characters and
// must include at least one non-whitespace character. ASCII control
// characters are not supported"; a metric is never made of anything else,
// and the library and emit refuse such text too (src/record.cpp).
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html
// The reason, or null if `s` is fine.
const char* not_cloudwatch_ascii(std::string_view s) {
  bool visible = false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x7F) return "is not ASCII (CloudWatch accepts only ASCII)";
    if (u < 0x20 || u == 0x7F) return "contains an ASCII control character";
    visible |= c != ' ';
  }
  return visible ? nullptr : "is only whitespace";
}

bool starts_like_emf(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  return first != std::string_view::npos && line[first] == '{' &&
         line.find("\"_aws\"") != std::string_view::npos;
}

bool is_number(const element& e) {
  const auto t = e.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

// The value of a number (an integer converted); 0 for anything else.
double number(const element& e) {
  double d = 0;
  if (e.get_double().get(d) != simdjson::SUCCESS) return 0;
  return d;
}

// Why simdjson could not read a line that looks like an EMF event.
std::string parse_error(simdjson::error_code error, std::string_view line) {
  switch (error) {
    case simdjson::UTF8_ERROR:
      return "not valid UTF-8 (JSON text must be UTF-8)";
    case simdjson::NUMBER_ERROR:
      return "not valid JSON: a number that is malformed or out of the range of a double";
    default:
      return line.find("NaN") != std::string_view::npos ||
                     line.find("Infinity") != std::string_view::npos
                 ? "not valid JSON (NaN and Infinity are not JSON)"
                 : "not valid JSON";
  }
}

std::string dump(const element& e) {
  return simdjson::minify(e);
}

// The members of the root object, looked up many times per line (every
// metric and dimension names one): a flat index with a cheap tag checked
// before the key comparison.
class root_index {
 public:
  void build(const object& root) {
    entries_.clear();
    for (const auto field : root) entries_.push_back({tag(field.key), field.key, field.value});
  }
  bool find(std::string_view key, element& out) const {
    const std::uint32_t t = tag(key);
    for (const auto& e : entries_) {
      if (e.tag == t && e.key == key) {
        out = e.value;
        return true;
      }
    }
    return false;
  }

 private:
  static std::uint32_t tag(std::string_view k) {
    if (k.empty()) return 0;
    return static_cast<std::uint32_t>(k.size()) << 16 ^ static_cast<unsigned char>(k.front()) << 8 ^
           static_cast<unsigned char>(k.back());
  }
  struct entry {
    std::uint32_t tag;
    std::string_view key;
    element value;
  };
  std::vector<entry> entries_;
};

// A metric definition the check found valid, in the order of the event:
// what extraction needs of it, so that it looks nothing up again.
struct checked_metric {
  std::size_t directive;
  std::string_view name;
  element value;  // a number or an array of numbers
};

struct checker {
  const root_index& root;
  line_report& report;
  std::vector<checked_metric>& checked;

  void fail(std::string message) {
    report.kind = line_kind::invalid;
    report.errors.push_back(std::move(message));
  }

  // Messages are built only when something fails: a valid line allocates
  // nothing here.
  void validate_directive(const element& d, std::size_t index) {
    const auto where = [index] { return "CloudWatchMetrics[" + std::to_string(index) + "]"; };
    object dir;
    if (d.get_object().get(dir) != simdjson::SUCCESS) return fail(where() + " is not an object");
    element ns;
    if (dir.at_key("Namespace").get(ns) != simdjson::SUCCESS || !ns.is_string()) {
      fail(where() + ".Namespace is missing or not a string");
    } else {
      const auto n = code_points(std::string_view(ns));
      if (n < 1 || n > limits::max_namespace_length) {
        fail(where() + ".Namespace must have 1..255 characters, has " + std::to_string(n));
      }
    }
    std::size_t sets = 0;
    element dims;
    if (dir.at_key("Dimensions").get(dims) != simdjson::SUCCESS || !dims.is_array()) {
      fail(where() + ".Dimensions is missing or not an array");
    } else {
      std::size_t s = 0;
      for (const element set : dims.get_array()) {
        ++sets;
        const std::size_t set_index = s++;
        const auto set_where = [&] {
          return where() + ".Dimensions[" + std::to_string(set_index) + "]";
        };
        if (!set.is_array()) {
          fail(set_where() + " is not an array");
          continue;
        }
        const auto size = set.get_array().size();
        if (size > limits::max_dimensions_per_set) {
          fail(set_where() + " has " + std::to_string(size) + " dimensions, more than 30");
        }
        for (const element name : set.get_array()) {
          if (!name.is_string()) {
            fail(set_where() + " has a dimension name that is not a string");
            continue;
          }
          const std::string_view key = name;
          element value;
          if (!root.find(key, value)) {
            fail("dimension \"" + std::string(key) + "\" has no member in the event");
          } else if (!value.is_string()) {
            fail("dimension \"" + std::string(key) + "\" has a value that is not a string");
          } else {
            const std::string_view text = value;
            const auto n = code_points(text);
            if (n < 1 || n > limits::max_dimension_value_length) {
              fail("dimension \"" + std::string(key) +
                   "\" value must have 1..1024 characters, has " + std::to_string(n));
            } else if (const char* why = not_cloudwatch_ascii(text)) {
              fail("dimension \"" + std::string(key) + "\" value " + why);
            }
          }
          if (key.empty() || key.size() > limits::max_name_length || key.front() == ':') {
            fail("dimension name \"" + std::string(key) +
                 "\" is empty, too long or starts with ':'");
          } else if (const char* why = not_cloudwatch_ascii(key)) {
            fail("dimension name \"" + std::string(key) + "\" " + why);
          }
        }
      }
    }
    element metrics;
    if (dir.at_key("Metrics").get(metrics) != simdjson::SUCCESS || !metrics.is_array()) {
      return fail(where() + ".Metrics is missing or not an array");
    }
    const auto count = metrics.get_array().size();
    if (count > limits::max_metrics_per_event) {
      fail(where() + ".Metrics has " + std::to_string(count) +
           " metric definitions, more than 100");
    }
    std::size_t m = 0;
    for (const element def : metrics.get_array())
      validate_metric(def, index, m++, std::max<std::size_t>(sets, 1));
  }

  void validate_metric(const element& def, std::size_t directive, std::size_t index,
                       std::size_t sets) {
    const auto where = [&] {
      return "CloudWatchMetrics[" + std::to_string(directive) + "].Metrics[" +
             std::to_string(index) + "]";
    };
    object d;
    if (def.get_object().get(d) != simdjson::SUCCESS) return fail(where() + " is not an object");
    element name;
    if (d.at_key("Name").get(name) != simdjson::SUCCESS || !name.is_string()) {
      return fail(where() + ".Name is missing");
    }
    const std::string_view key = name;
    const auto n = code_points(key);
    if (n < 1 || n > limits::max_name_length)
      fail("metric name \"" + std::string(key) + "\" must have 1..255 characters");
    element u;
    if (d.at_key("Unit").get(u) == simdjson::SUCCESS) {
      if (!u.is_string() || !parse_unit(std::string_view(u))) {
        fail("metric \"" + std::string(key) + "\" has an unknown Unit " + dump(u));
      }
    }
    element r;
    if (d.at_key("StorageResolution").get(r) == simdjson::SUCCESS) {
      const bool ok = (r.type() == element_type::INT64 && (int64_t(r) == 1 || int64_t(r) == 60)) ||
                      (r.type() == element_type::UINT64 && (uint64_t(r) == 1 || uint64_t(r) == 60));
      if (!ok)
        fail("metric \"" + std::string(key) + "\" has StorageResolution " + dump(r) +
             ", not 1 or 60");
    }
    element value;
    if (!root.find(key, value))
      return fail("metric \"" + std::string(key) + "\" has no value member");
    std::size_t points = 0;
    if (is_number(value)) {
      points = 1;
    } else if (value.is_array()) {
      const auto size = value.get_array().size();
      if (size > limits::max_values_per_metric) {
        fail("metric \"" + std::string(key) + "\" has " + std::to_string(size) +
             " values, more than 100");
      }
      for (const element v : value.get_array()) {
        if (!is_number(v))
          return fail("metric \"" + std::string(key) + "\" has a value that is not a number");
      }
      points = size;
    } else {
      return fail("metric \"" + std::string(key) +
                  "\" value is not a number or an array of numbers");
    }
    report.metrics += sets;
    report.datapoints += points * sets;
    checked.push_back({directive, key, value});
  }
};

// A number as an integer (a fraction cut toward zero); none for anything
// else or out of range: an Epoch of 1e300 has no epoch (converting it
// would be undefined behaviour).
std::optional<std::int64_t> whole_number(const element& e) {
  switch (e.type()) {
    case element_type::INT64:
      return int64_t(e);
    case element_type::UINT64:
      if (uint64_t(e) > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<std::int64_t>(uint64_t(e));
    case element_type::DOUBLE: {
      const double d = double(e);  // -2^63 <= d < 2^63 (NaN fails both)
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return std::nullopt;
      return static_cast<std::int64_t>(d);
    }
    default:
      return std::nullopt;
  }
}

// The value of a number, or the last of an array of numbers; false for
// an empty array.
bool last_value(const element& value, double& last) {
  if (!value.is_array()) {
    last = number(value);
    return true;
  }
  bool any = false;
  for (const element v : value.get_array()) last = number(v), any = true;
  return any;
}

// Walks a valid event again and collects its datapoints. Reuses the
// buffers of `out` (a reader calls it for every line of a log).
void extract(const root_index& root, const element& directives,
             const std::vector<checked_metric>& metrics, std::int64_t ts, extracted_event& out,
             const std::function<bool(std::string_view, std::string_view)>& wanted,
             const metric_picks* picks) {
  out.timestamp_ms = ts;
  out.epoch.reset();
  out.picks = picks;
  out.picked.clear();
  element epoch;
  if (root.find("Epoch", epoch)) out.epoch = whole_number(epoch);
  out.reason.clear();
  element reason;
  if (picks != nullptr && root.find("OverfittingReason", reason) && reason.is_string())
    out.reason = std::string_view(reason);
  auto& sets = out.dimension_sets;
  std::size_t used = 0, sets_used = 0, directive = 0;
  auto metric = metrics.begin();
  const auto next_set = [&]() -> std::vector<std::pair<std::string, std::string>>& {
    if (sets.size() <= sets_used) sets.emplace_back();
    return sets[sets_used++];
  };
  for (const element d : directives.get_array()) {
    const object dir = d.get_object();
    const std::string_view ns = dir["Namespace"];
    const std::size_t first_set = sets_used;
    for (const element set : dir["Dimensions"].get_array()) {
      auto& dims = next_set();
      std::size_t n = 0;
      for (const element name : set.get_array()) {
        const std::string_view k = name;
        element value;
        root.find(k, value);
        if (dims.size() <= n) dims.emplace_back();
        dims[n].first.assign(k);
        dims[n++].second.assign(std::string_view(value));
      }
      dims.resize(n);
      std::sort(dims.begin(), dims.end());
    }
    if (sets_used == first_set) next_set().clear();  // a metric without dimensions
    for (; metric != metrics.end() && metric->directive == directive; ++metric) {
      const std::string_view name = metric->name;
      const element& value = metric->value;
      const std::size_t pick = picks != nullptr ? picks->find(name) : 0;
      const bool picked = picks != nullptr && pick < picks->size();
      const bool keep = !wanted || wanted(ns, name);
      if (!keep && !picked) continue;
      double last = 0;
      if (picked && last_value(value, last)) {
        for (std::size_t k = first_set; k < sets_used; ++k) out.picked.push_back({pick, k, last});
      }
      if (!keep) continue;
      for (std::size_t k = first_set; k < sets_used; ++k) {
        if (out.series.size() <= used) out.series.emplace_back();
        auto& x = out.series[used++];
        x.ns.assign(ns);
        x.name.assign(name);
        x.dimensions = sets[k];
        x.values.clear();
        if (value.is_array()) {
          for (const element v : value.get_array()) x.values.push_back(number(v));
        } else {
          x.values.push_back(number(value));
        }
      }
    }
    ++directive;
  }
  out.series.resize(used);
  sets.resize(sets_used);
}

}  // namespace

metric_picks::metric_picks(std::vector<std::string_view> names)
    : names_(std::move(names)), next_(names_.size(), none) {
  if (names_.size() >= none) throw std::invalid_argument("more than 65534 metric picks");
  std::size_t longest = 0;
  for (const auto n : names_) longest = std::max(longest, n.size());
  by_length_.assign(longest + 1, none);
  // Each length's chain in the order of the names: the first of equal
  // names is the one found.
  for (std::size_t i = names_.size(); i-- > 0;) {
    next_[i] = by_length_[names_[i].size()];
    by_length_[names_[i].size()] = static_cast<std::uint16_t>(i);
  }
}

line_report validate_line(std::string_view line, const validate_options& options) {
  return validate_line(line, options, nullptr);
}

line_report validate_line(std::string_view line, const validate_options& /*options*/,
                          extracted_event* out,
                          const std::function<bool(std::string_view, std::string_view)>& wanted,
                          const metric_picks* picks) {
  thread_local simdjson::dom::parser parser;
  // simdjson reads SIMDJSON_PADDING bytes past the end: parse from a padded
  // buffer we keep, rather than let it allocate a padded copy per line.
  thread_local std::string padded;
  if (padded.size() < line.size() + simdjson::SIMDJSON_PADDING) {
    padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
  }
  std::copy(line.begin(), line.end(), padded.begin());
  line_report report;
  element doc;
  if (const auto error = parser.parse(padded.data(), line.size(), false).get(doc);
      error != simdjson::SUCCESS) {
    if (starts_like_emf(line)) {
      report.kind = line_kind::invalid;
      report.errors.emplace_back(parse_error(error, line));
    }
    return report;
  }
  object root;
  element aws;
  if (doc.get_object().get(root) != simdjson::SUCCESS) return report;
  thread_local root_index index;
  index.build(root);
  if (!index.find("_aws", aws)) return report;
  report.kind = line_kind::emf;
  thread_local std::vector<checked_metric> checked;
  checked.clear();
  checker c{index, report, checked};
  if (line.size() > limits::max_event_bytes) {
    c.fail("event of " + std::to_string(line.size()) + " bytes, more than 1 MB");
  }
  object meta;
  if (aws.get_object().get(meta) != simdjson::SUCCESS) {
    c.fail("_aws is not an object");
    return report;
  }
  element ts;
  std::int64_t timestamp = 0;
  if (meta.at_key("Timestamp").get(ts) != simdjson::SUCCESS) {
    c.fail("_aws.Timestamp is missing");
  } else if (!((ts.type() == element_type::INT64 && int64_t(ts) >= 0) ||
               (ts.type() == element_type::UINT64 && uint64_t(ts) <= uint64_t(INT64_MAX)))) {
    c.fail("_aws.Timestamp is not a non-negative integer (ms since the epoch)");
  } else {
    timestamp =
        ts.type() == element_type::INT64 ? int64_t(ts) : static_cast<std::int64_t>(uint64_t(ts));
  }
  element directives;
  if (meta.at_key("CloudWatchMetrics").get(directives) != simdjson::SUCCESS ||
      !directives.is_array()) {
    c.fail("_aws.CloudWatchMetrics is missing or not an array");
    return report;
  }
  std::size_t i = 0;
  for (const element d : directives.get_array()) c.validate_directive(d, i++);
  if (report.kind == line_kind::invalid) {
    report.metrics = 0;
    report.datapoints = 0;
    return report;
  }
  if (out != nullptr) extract(index, directives, checked, timestamp, *out, wanted, picks);
  return report;
}

}  // namespace fitwatch::emf
