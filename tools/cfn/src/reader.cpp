// Reading a template: YAML (short-form tags) or JSON into nlohmann::json,
// within CloudFormation's limits and ours (size, nesting, YAML aliases),
// and its parameters' values checked against their declared constraints.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>

#include "cfn/decimal.hpp"
#include "evaluator.hpp"

namespace fitwatch::cfn {

using nlohmann::json;

namespace {

// ---- limits ----------------------------------------------------------------

// CloudFormation accepts template bodies up to 1 MB and parameter values up
// to 4,096 bytes (CloudFormation quotas:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
constexpr std::size_t max_template_bytes = 1024 * 1024;
constexpr std::size_t max_parameter_bytes = 4096;

}  // namespace

// CloudFormation's Number type is "An integer or float": no hex, no inf/nan,
// no spaces. Written by hand, not as a std::regex, whose matcher recurses
// once per character.
std::optional<std::pair<double, std::size_t>> leading_decimal(std::string_view s) {
  const auto digit = [&](std::size_t i) {
    return i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]));
  };
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (digit(i)) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (digit(i)) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    if (digit(j)) {  // else the number ends before the 'e' ("5e" is 5, then "e")
      while (digit(j)) ++j;
      i = j;
    }
  }
  const double v = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  return std::make_pair(v, i);
}

std::optional<double> decimal_value(std::string_view s) {
  const auto d = leading_decimal(s);
  if (!d || d->second != s.size()) return std::nullopt;
  return d->first;
}

namespace detail {

// Iteratively (a deep document must not overflow the stack while checking).
void check_depth(const json& root) {
  std::vector<std::pair<const json*, std::size_t>> todo{{&root, 1}};
  while (!todo.empty()) {
    const auto [node, depth] = todo.back();
    todo.pop_back();
    if (!node->is_structured()) continue;
    if (depth > max_depth) {
      throw template_error("template: nested more than " + std::to_string(max_depth) +
                           " levels deep");
    }
    for (const auto& child : *node) todo.emplace_back(&child, depth + 1);
  }
}

namespace {

// ---- YAML -> JSON ----------------------------------------------------------

json scalar_value(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  if (const auto v = decimal_value(s)) {
    if (s.find_first_of(".eE") == std::string::npos && s.size() < 18) return std::stoll(s);
    return *v;
  }
  return s;
}

// YAML aliases share one node, so a few hundred bytes of aliases of aliases
// expand to billions of nodes. CloudFormation does not accept aliases at all
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html);
// fitwatch expands them, but no further than a template without aliases
// could be (fewer than 2 nodes per byte), and no deeper than max_depth (an
// anchor that contains its own alias is infinitely deep).
class yaml_converter {
 public:
  explicit yaml_converter(std::size_t text_bytes) : max_nodes_(2 * text_bytes + 64) {}

  json convert(const YAML::Node& node, std::size_t depth = 1) {
    if (++nodes_ > max_nodes_) {
      throw template_error("template: YAML aliases expand to more than " +
                           std::to_string(max_nodes_) +
                           " nodes (CloudFormation does not accept YAML aliases)");
    }
    if (depth > max_depth) {
      throw template_error("template: nested more than " + std::to_string(max_depth) +
                           " levels deep");
    }
    json value;
    switch (node.Type()) {
      case YAML::NodeType::Null:
        value = nullptr;
        break;
      case YAML::NodeType::Scalar:
        value = scalar_value(node);
        break;
      case YAML::NodeType::Sequence:
        value = json::array();
        for (const auto& item : node) value.push_back(convert(item, depth + 1));
        break;
      case YAML::NodeType::Map:
        value = json::object();
        for (const auto& kv : node)
          value[kv.first.as<std::string>()] = convert(kv.second, depth + 1);
        break;
      case YAML::NodeType::Undefined:
        break;
    }
    const std::string& tag = node.Tag();
    if (tag.size() > 1 && tag[0] == '!' && tag != "!") {
      const std::string name = tag.substr(1);
      if (node.Type() == YAML::NodeType::Scalar)
        value = node.Scalar();  // tag arguments are strings
      if (name == "Ref") return json{{"Ref", value}};
      if (name == "Condition") return json{{"Condition", value}};
      if (name == "GetAtt" && value.is_string()) {
        const auto s = value.get<std::string>();
        const auto dot = s.find('.');
        if (dot == std::string::npos)
          throw template_error("!GetAtt " + s + ": expected Resource.Attribute");
        return json{{"Fn::GetAtt", json::array({s.substr(0, dot), s.substr(dot + 1)})}};
      }
      return json{{"Fn::" + name, value}};
    }
    return value;
  }

 private:
  std::size_t nodes_ = 0;
  const std::size_t max_nodes_;
};

std::string trim_spaces(const std::string& s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

std::string constraint(const json& p) {
  return p.contains("ConstraintDescription")
             ? " (" + p["ConstraintDescription"].get<std::string>() + ")"
             : "";
}

std::string shown(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// A bound of the template itself (MinValue: 0, or MinLength: "3").
std::optional<double> bound(const json& p, const char* key, const std::string& where) {
  if (!p.contains(key)) return std::nullopt;
  const json& b = p[key];
  const auto v = b.is_number() ? std::optional<double>(b.get<double>())
                               : decimal_value(b.is_string() ? b.get<std::string>() : "");
  if (!v) throw template_error(where + ": " + key + " is not a number: " + b.dump());
  return v;
}

void check_number(const json& p, const std::string& item, const std::string& where) {
  const auto v = decimal_value(item);
  if (!v) throw template_error(where + ": '" + item + "' is not a Number");
  if (const auto lo = bound(p, "MinValue", where); lo && *v < *lo) {
    throw template_error(where + ": " + item + " is below MinValue " + shown(p["MinValue"]) +
                         constraint(p));
  }
  if (const auto hi = bound(p, "MaxValue", where); hi && *v > *hi) {
    throw template_error(where + ": " + item + " is above MaxValue " + shown(p["MaxValue"]) +
                         constraint(p));
  }
}

void check_length(const json& p, const std::string& item, const std::string& where) {
  std::size_t characters = 0;  // UTF-8: every byte but continuation bytes
  for (const char c : item) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  const auto lo = bound(p, "MinLength", where), hi = bound(p, "MaxLength", where);
  if (lo && static_cast<double>(characters) < *lo) {
    throw template_error(where + ": " + std::to_string(characters) +
                         " characters, fewer than MinLength " + shown(p["MinLength"]) +
                         constraint(p));
  }
  if (hi && static_cast<double>(characters) > *hi) {
    throw template_error(where + ": " + std::to_string(characters) +
                         " characters, more than MaxLength " + shown(p["MaxLength"]) +
                         constraint(p));
  }
}

}  // namespace

// Parameters: defaults, overrides, types, and the constraints of the
// CloudFormation Parameters section
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html):
// AllowedValues, AllowedPattern, MinLength/MaxLength (String),
// MinValue/MaxValue (Number, List<Number>), and the 4,096-byte value quota.
std::map<std::string, json> read_parameters(const json& t,
                                            const std::map<std::string, std::string>& overrides) {
  std::map<std::string, json> values;
  const json params = t.value("Parameters", json::object());
  for (const auto& [name, _] : overrides) {
    if (!params.contains(name)) throw template_error("parameter " + name + ": not in the template");
  }
  for (const auto& [name, p] : params.items()) {
    std::optional<std::string> raw;
    if (const auto it = overrides.find(name); it != overrides.end()) {
      raw = it->second;
    } else if (p.contains("Default")) {
      raw = p["Default"].is_string() ? p["Default"].get<std::string>() : p["Default"].dump();
    }
    if (!raw)
      throw template_error("parameter " + name + ": no value (pass --param " + name + "=...)");
    const std::string where = "parameter " + name;
    if (raw->size() > max_parameter_bytes) {
      throw template_error(where + ": the value is " + std::to_string(raw->size()) +
                           " bytes; CloudFormation allows at most " +
                           std::to_string(max_parameter_bytes));
    }
    const auto type = p.value("Type", std::string("String"));
    const bool list = type == "CommaDelimitedList" || type.rfind("List<", 0) == 0;
    const bool numeric = type == "Number" || type == "List<Number>";
    std::vector<std::string> items;
    if (list) {
      // "each member string is space trimmed"
      std::stringstream ss(*raw);
      std::string item;
      while (std::getline(ss, item, ',')) items.push_back(trim_spaces(item));
      if (raw->empty() || raw->back() == ',') items.emplace_back();
    } else {
      items = {*raw};
    }
    for (const auto& item : items) {
      if (numeric) check_number(p, item, where);
      if (type == "String") check_length(p, item, where);
      if (p.contains("AllowedValues")) {
        bool ok = false;
        for (const auto& a : p["AllowedValues"]) {
          ok |= (a.is_string() ? a.get<std::string>() : a.dump()) == item;
        }
        if (!ok) throw template_error(where + ": '" + item + "' is not an AllowedValue");
      }
      if (p.contains("AllowedPattern") &&
          !std::regex_match(item, std::regex(p["AllowedPattern"].get<std::string>()))) {
        throw template_error(where + ": '" + item + "' does not match AllowedPattern " +
                             p["AllowedPattern"].get<std::string>() + constraint(p));
      }
    }
    values[name] = list ? json(items) : json(*raw);
  }
  return values;
}

}  // namespace detail

nlohmann::json parse_template(const std::string& text) {
  if (text.size() > max_template_bytes) throw template_error("template: larger than 1 MB");
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    // nlohmann's parser and destructor are iterative: a deep document is
    // read whole, then refused before anything recurses over it.
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw template_error("template: not valid JSON");
    detail::check_depth(j);
    return j;
  }
  try {
    return detail::yaml_converter(text.size()).convert(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw template_error(std::string("template: not valid YAML: ") + e.what());
  }
}

}  // namespace fitwatch::cfn
