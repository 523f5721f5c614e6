#include "emf_validate.hpp"

#include <nlohmann/json.hpp>

#include "fitwatch/limits.hpp"
#include "fitwatch/unit.hpp"

namespace fitwatch::tools {
namespace {

using nlohmann::json;

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool starts_like_emf(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  return first != std::string_view::npos && line[first] == '{' &&
         line.find("\"_aws\"") != std::string_view::npos;
}

struct checker {
  const json& root;
  line_report& report;

  void fail(std::string message) {
    report.kind = line_kind::invalid;
    report.errors.push_back(std::move(message));
  }

  void check_directive(const json& d, std::size_t index) {
    const std::string where = "CloudWatchMetrics[" + std::to_string(index) + "]";
    if (!d.is_object()) return fail(where + " is not an object");
    const auto ns = d.find("Namespace");
    if (ns == d.end() || !ns->is_string()) {
      fail(where + ".Namespace is missing or not a string");
    } else {
      const auto n = code_points(ns->get<std::string>());
      if (n < 1 || n > limits::max_namespace_length) {
        fail(where + ".Namespace must have 1..255 characters, has " + std::to_string(n));
      }
    }
    std::size_t sets = 0;
    const auto dims = d.find("Dimensions");
    if (dims == d.end() || !dims->is_array()) {
      fail(where + ".Dimensions is missing or not an array");
    } else {
      sets = dims->size();
      for (std::size_t s = 0; s < dims->size(); ++s) {
        const auto& set = (*dims)[s];
        const std::string set_where = where + ".Dimensions[" + std::to_string(s) + "]";
        if (!set.is_array()) {
          fail(set_where + " is not an array");
          continue;
        }
        if (set.size() > limits::max_dimensions_per_set) {
          fail(set_where + " has " + std::to_string(set.size()) + " dimensions, more than 30");
        }
        for (const auto& name : set) {
          if (!name.is_string()) {
            fail(set_where + " has a dimension name that is not a string");
            continue;
          }
          const auto key = name.get<std::string>();
          const auto member = root.find(key);
          if (member == root.end()) {
            fail("dimension \"" + key + "\" has no member in the event");
          } else if (!member->is_string()) {
            fail("dimension \"" + key + "\" has a value that is not a string");
          } else {
            const auto n = code_points(member->get<std::string>());
            if (n < 1 || n > limits::max_dimension_value_length) {
              fail("dimension \"" + key + "\" value must have 1..1024 characters, has " +
                   std::to_string(n));
            }
          }
          if (key.empty() || key.size() > limits::max_name_length || key.front() == ':') {
            fail("dimension name \"" + key + "\" is empty, too long or starts with ':'");
          }
        }
      }
    }
    const auto metrics = d.find("Metrics");
    if (metrics == d.end() || !metrics->is_array()) {
      return fail(where + ".Metrics is missing or not an array");
    }
    if (metrics->size() > limits::max_metrics_per_event) {
      fail(where + ".Metrics has " + std::to_string(metrics->size()) +
           " metric definitions, more than 100");
    }
    for (std::size_t m = 0; m < metrics->size(); ++m) {
      check_metric((*metrics)[m], where + ".Metrics[" + std::to_string(m) + "]",
                   std::max<std::size_t>(sets, 1));
    }
  }

  void check_metric(const json& def, const std::string& where, std::size_t sets) {
    if (!def.is_object()) return fail(where + " is not an object");
    const auto name = def.find("Name");
    if (name == def.end() || !name->is_string()) return fail(where + ".Name is missing");
    const auto key = name->get<std::string>();
    const auto n = code_points(key);
    if (n < 1 || n > limits::max_name_length) {
      fail("metric name \"" + key + "\" must have 1..255 characters");
    }
    if (const auto u = def.find("Unit"); u != def.end()) {
      if (!u->is_string() || !parse_unit(u->get<std::string>())) {
        fail("metric \"" + key + "\" has an unknown Unit " + u->dump());
      }
    }
    if (const auto r = def.find("StorageResolution"); r != def.end()) {
      if (!r->is_number_integer() || (r->get<long long>() != 1 && r->get<long long>() != 60)) {
        fail("metric \"" + key + "\" has StorageResolution " + r->dump() + ", not 1 or 60");
      }
    }
    const auto value = root.find(key);
    if (value == root.end()) return fail("metric \"" + key + "\" has no value member");
    std::size_t points = 0;
    if (value->is_number()) {
      points = 1;
    } else if (value->is_array()) {
      if (value->size() > limits::max_values_per_metric) {
        fail("metric \"" + key + "\" has " + std::to_string(value->size()) +
             " values, more than 100");
      }
      for (const auto& v : *value) {
        if (!v.is_number()) return fail("metric \"" + key + "\" has a value that is not a number");
      }
      points = value->size();
    } else {
      return fail("metric \"" + key + "\" value is not a number or an array of numbers");
    }
    report.metrics += sets;
    report.datapoints += points * sets;
  }
};

}  // namespace

line_report validate_line(std::string_view line, const validate_options& options) {
  line_report report;
  json root = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    if (starts_like_emf(line)) {
      report.kind = line_kind::invalid;
      report.errors.emplace_back("not valid JSON (NaN and Infinity are not JSON)");
    }
    return report;
  }
  if (!root.is_object() || !root.contains("_aws")) return report;
  report.kind = line_kind::emf;
  checker c{root, report};
  if (line.size() > limits::max_event_bytes) {
    c.fail("event of " + std::to_string(line.size()) + " bytes, more than 1 MB");
  }
  const auto& aws = root["_aws"];
  if (!aws.is_object()) {
    c.fail("_aws is not an object");
    return report;
  }
  const auto ts = aws.find("Timestamp");
  if (ts == aws.end()) {
    c.fail("_aws.Timestamp is missing");
  } else if (!ts->is_number_integer() || ts->get<long long>() < 0) {
    c.fail("_aws.Timestamp is not a non-negative integer (ms since the epoch)");
  } else if (options.now_ms) {
    const long long t = ts->get<long long>();
    constexpr long long day = 24LL * 3600 * 1000;
    if (t < *options.now_ms - 14 * day || t > *options.now_ms + 2 * 3600 * 1000) {
      c.fail("_aws.Timestamp is more than 14 days in the past or 2 hours in the future");
    }
  }
  const auto directives = aws.find("CloudWatchMetrics");
  if (directives == aws.end() || !directives->is_array()) {
    c.fail("_aws.CloudWatchMetrics is missing or not an array");
    return report;
  }
  for (std::size_t i = 0; i < directives->size(); ++i) c.check_directive((*directives)[i], i);
  if (report.kind == line_kind::invalid) {
    report.metrics = 0;
    report.datapoints = 0;
  }
  return report;
}

}  // namespace fitwatch::tools
