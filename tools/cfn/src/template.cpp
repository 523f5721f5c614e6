#include "cfn/template.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

namespace fitwatch::tools {
namespace {

using nlohmann::json;

// ---- limits ----------------------------------------------------------------

// CloudFormation accepts template bodies up to 1 MB and parameter values up
// to 4,096 bytes (CloudFormation quotas:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
constexpr std::size_t max_template_bytes = 1024 * 1024;
constexpr std::size_t max_parameter_bytes = 4096;
// Ours: real templates nest about 10 levels; 100 keeps every recursion over
// the template (and over references between its parts) far from the stack's end.
constexpr std::size_t max_depth = 100;
constexpr std::size_t max_reference_depth = 200;

// A decimal number as CloudFormation's Number type reads it ("An integer or
// float"): no hex, no inf/nan, no spaces. Written by hand, not as a
// std::regex, whose matcher recurses once per character.
bool is_decimal(const std::string& s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

// The value of a decimal string, if it is one and finite.
std::optional<double> decimal_value(const std::string& s) {
  if (!is_decimal(s)) return std::nullopt;
  const double v = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

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

// ---- evaluation ------------------------------------------------------------

bool is_no_value(const json& v) {
  return v.is_object() && v.contains("__fitwatch_no_value");
}

std::string alnum(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) {
    s.replace(at, from.size(), to);
  }
}

// Fn::ForEach body instantiation: ${Id} and &{Id} in keys and strings, and
// {"Ref": Id}, become the value.
json instantiate(const json& node, const std::string& id, const std::string& value) {
  if (node.is_string()) {
    auto s = node.get<std::string>();
    replace_all(s, "${" + id + "}", value);
    replace_all(s, "&{" + id + "}", alnum(value));
    return s;
  }
  if (node.is_array()) {
    json out = json::array();
    for (const auto& e : node) out.push_back(instantiate(e, id, value));
    return out;
  }
  if (node.is_object()) {
    if (node.size() == 1 && node.contains("Ref") && node["Ref"] == id) return value;
    json out = json::object();
    for (const auto& [k, v] : node.items()) {
      out[instantiate(json(k), id, value).get<std::string>()] = instantiate(v, id, value);
    }
    return out;
  }
  return node;
}

class evaluator {
 public:
  evaluator(const json& t, const template_options& o) : t_(t), o_(o) {
    if (!t_.is_object() || !t_.contains("Resources") || !t_["Resources"].is_object()) {
      throw template_error("template: no Resources section");
    }
    read_parameters();
    check_rules();
    expand_resources();
  }

  template_model run() {
    template_model m;
    m.region = o_.region;
    m.account_id = o_.account_id;
    m.stack_name = o_.stack_name;
    for (const auto& [id, res] : resources_.items()) {
      if (!res.is_object() || !res.contains("Type"))
        throw template_error("resource " + id + ": no Type");
      if (!condition_holds(id, res)) continue;
      const auto type = res["Type"].get<std::string>();
      if (type == "AWS::CloudWatch::Alarm") {
        m.alarms.push_back(metric(id, res));
      } else if (type == "AWS::CloudWatch::CompositeAlarm") {
        m.composites.push_back(composite(id, res));
      } else if (type == "AWS::SNS::Topic") {
        topic tp;
        tp.logical_id = id;
        tp.arn = ref(id, id);
        const auto props = properties(id, res);
        tp.display_name = string_or(props, "DisplayName", "");
        m.topics.push_back(tp);
      } else if (type != "AWS::SNS::Subscription") {
        m.skipped.push_back(type + ": " + id);
      }
    }
    // Email subscriptions, attached to their topics.
    for (const auto& [id, res] : resources_.items()) {
      if (res["Type"] != "AWS::SNS::Subscription" || !condition_holds(id, res)) continue;
      const auto props = properties(id, res);
      if (string_or(props, "Protocol", "") != "email") {
        m.skipped.push_back("AWS::SNS::Subscription (not email): " + id);
        continue;
      }
      const auto arn = string_or(props, "TopicArn", "");
      bool found = false;
      for (auto& tp : m.topics) {
        if (tp.arn == arn) {
          tp.emails.push_back(string_or(props, "Endpoint", ""));
          found = true;
        }
      }
      if (!found)
        throw template_error("resource " + id + ": TopicArn is not a topic of this template");
    }
    check_header_values(m);
    return m;
  }

  // Alarm names, topic display names and addresses go into email headers
  // and SMTP commands: a CR or LF there injects a Bcc: header or a RCPT TO
  // command. Refused whatever the template's AllowedPattern says.
  void check_header_values(const template_model& m) const {
    const auto check = [](const std::string& value, const std::string& what) {
      for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
          throw template_error(what +
                               " contains a control character (CR, LF, tab...); it "
                               "would go into email headers");
        }
      }
    };
    for (const char c : o_.region) {
      if (!std::islower(static_cast<unsigned char>(c)) &&
          !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
        throw template_error("region '" + o_.region + "': letters, digits and hyphens only");
      }
    }
    for (const auto& a : m.alarms) check(a.name, "resource " + a.logical_id + ": the alarm name");
    for (const auto& a : m.composites)
      check(a.name, "resource " + a.logical_id + ": the alarm name");
    for (const auto& tp : m.topics) {
      check(tp.display_name, "resource " + tp.logical_id + ": DisplayName");
      for (const auto& to : tp.emails) {
        check(to, "an email subscription of " + tp.logical_id);
        if (to.find_first_of(" <>") != std::string::npos) {
          throw template_error("an email subscription of " + tp.logical_id + ": '" + to +
                               "' is not a plain address");
        }
      }
    }
  }

 private:
  // Parameters: defaults, overrides, types, and the constraints of the
  // CloudFormation Parameters section
  // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html):
  // AllowedValues, AllowedPattern, MinLength/MaxLength (String),
  // MinValue/MaxValue (Number, List<Number>), and the 4,096-byte value quota.
  void read_parameters() {
    const json params = t_.value("Parameters", json::object());
    for (const auto& [name, _] : o_.parameters) {
      if (!params.contains(name))
        throw template_error("parameter " + name + ": not in the template");
    }
    for (const auto& [name, p] : params.items()) {
      std::optional<std::string> raw;
      if (const auto it = o_.parameters.find(name); it != o_.parameters.end()) {
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
      params_[name] = list ? json(items) : json(*raw);
    }
  }

  static std::string trim_spaces(const std::string& s) {
    const auto first = s.find_first_not_of(' ');
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(' ') - first + 1);
  }

  static std::string constraint(const json& p) {
    return p.contains("ConstraintDescription")
               ? " (" + p["ConstraintDescription"].get<std::string>() + ")"
               : "";
  }

  static std::string shown(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
  }

  // A bound of the template itself (MinValue: 0, or MinLength: "3").
  static std::optional<double> bound(const json& p, const char* key, const std::string& where) {
    if (!p.contains(key)) return std::nullopt;
    const json& b = p[key];
    const auto v = b.is_number() ? std::optional<double>(b.get<double>())
                                 : decimal_value(b.is_string() ? b.get<std::string>() : "");
    if (!v) throw template_error(where + ": " + key + " is not a number: " + b.dump());
    return v;
  }

  static void check_number(const json& p, const std::string& item, const std::string& where) {
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

  static void check_length(const json& p, const std::string& item, const std::string& where) {
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

  void check_rules() {
    const json rules = t_.value("Rules", json::object());
    for (const auto& [name, rule] : rules.items()) {
      if (rule.contains("RuleCondition") && !truth(rule["RuleCondition"], "rule " + name)) continue;
      for (const auto& a : rule.value("Assertions", json::array())) {
        if (!a.is_object() || !a.contains("Assert")) {
          throw template_error("rule " + name + ": an assertion without Assert");
        }
        if (!truth(a.at("Assert"), "rule " + name)) {
          throw template_error("rule " + name + " failed: " +
                               a.value("AssertDescription", std::string("assertion is false")));
        }
      }
    }
  }

  void expand_resources() {
    resources_ = json::object();
    for (const auto& [key, value] : t_["Resources"].items()) {
      if (key.rfind("Fn::ForEach::", 0) != 0) {
        add_resource(key, value);
        continue;
      }
      if (!value.is_array() || value.size() != 3 || !value[0].is_string()) {
        throw template_error(key + ": expected [Identifier, Collection, Template]");
      }
      const auto id = value[0].get<std::string>();
      const json collection = resolve(value[1], key);
      if (!collection.is_array()) throw template_error(key + ": the collection is not a list");
      for (const auto& item : collection) {
        const auto s = item.is_string() ? item.get<std::string>() : item.dump();
        for (const auto& [tkey, body] : value[2].items()) {
          add_resource(instantiate(json(tkey), id, s).get<std::string>(), instantiate(body, id, s));
        }
      }
    }
  }

  void add_resource(const std::string& id, const json& body) {
    if (resources_.contains(id)) {
      throw template_error("resource " + id +
                           ": duplicate logical ID (Fn::ForEach keeps only letters and digits of "
                           "each value, so two values can collide)");
    }
    resources_[id] = body;
  }

  bool condition_holds(const std::string& id, const json& res) {
    if (!res.contains("Condition")) return true;
    return named_condition(res["Condition"].get<std::string>(), "resource " + id);
  }

  bool named_condition(const std::string& name, const std::string& where) {
    if (const auto it = conditions_.find(name); it != conditions_.end()) return it->second;
    // By reference: a copy of the section per nested condition made a long
    // chain of conditions take gigabytes.
    const auto all = t_.find("Conditions");
    if (all == t_.end() || !all->is_object() || !all->contains(name))
      throw template_error(where + ": no condition " + name);
    const entering guard(*this, "condition " + name);
    const bool v = truth(all->at(name), "condition " + name);
    conditions_[name] = v;
    return v;
  }

  bool truth(const json& node, const std::string& where) {
    const json v = resolve(node, where);
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_string()) return v == "true";
    throw template_error(where + ": not a condition: " + node.dump());
  }

  json properties(const std::string& id, const json& res) {
    json out = json::object();
    const json props = res.value("Properties", json::object());
    for (const auto& [k, v] : props.items()) {
      json r = resolve(v, "resource " + id + " property " + k);
      if (!is_no_value(r)) out[k] = r;
    }
    return out;
  }

  static std::string string_or(const json& o, const char* key, const std::string& fallback) {
    if (!o.contains(key)) return fallback;
    return o[key].is_string() ? o[key].get<std::string>() : o[key].dump();
  }

  // A number property: a JSON number or a decimal string (a Ref to a Number
  // parameter), finite.
  static double number(const json& o, const char* key, double fallback, const std::string& id) {
    if (!o.contains(key)) return fallback;
    const auto& v = o[key];
    const auto d = v.is_number() ? std::optional<double>(v.get<double>())
                                 : decimal_value(v.is_string() ? v.get<std::string>() : "");
    if (!d || !std::isfinite(*d))
      throw template_error("resource " + id + ": " + key + " is not a number: " + v.dump());
    return *d;
  }

  // A whole-number property (Period, EvaluationPeriods...), at least 1.
  static int count(const json& o, const char* key, int fallback, const std::string& id) {
    const double v = number(o, key, fallback, id);
    if (v != std::floor(v) || v < 1 || v > 1e9) {
      std::ostringstream shown;
      shown << v;
      throw template_error("resource " + id + ": " + key +
                           " must be a whole number of at least 1, not " + shown.str());
    }
    return static_cast<int>(v);
  }

  static std::vector<std::string> strings(const json& o, const char* key) {
    std::vector<std::string> out;
    if (!o.contains(key)) return out;
    for (const auto& v : o[key]) out.push_back(v.get<std::string>());
    return out;
  }

  std::string alarm_name(const std::string& id) {
    const auto& res = resources_[id];
    if (res.contains("Properties") && res["Properties"].contains("AlarmName")) {
      const entering guard(*this, "resource " + id);
      return resolve(res["Properties"]["AlarmName"], "resource " + id + " property AlarmName")
          .get<std::string>();
    }
    return o_.stack_name + "-" + id;  // CloudFormation adds a random suffix too
  }

  std::string alarm_arn(const std::string& name) const {
    return "arn:aws:cloudwatch:" + o_.region + ":" + o_.account_id + ":alarm:" + name;
  }

  std::string topic_name(const std::string& id) {
    const auto& res = resources_[id];
    if (res.contains("Properties") && res["Properties"].contains("TopicName")) {
      const entering guard(*this, "resource " + id);
      return resolve(res["Properties"]["TopicName"], "resource " + id).get<std::string>();
    }
    return o_.stack_name + "-" + id;
  }

  // Ref of a parameter, pseudo parameter or resource.
  json ref(const std::string& name, const std::string& where) {
    if (const auto it = params_.find(name); it != params_.end()) return it->second;
    if (name == "AWS::Region") return o_.region;
    if (name == "AWS::AccountId") return o_.account_id;
    if (name == "AWS::StackName") return o_.stack_name;
    if (name == "AWS::Partition") return "aws";
    if (name == "AWS::URLSuffix") return "amazonaws.com";
    if (name == "AWS::StackId") {
      return "arn:aws:cloudformation:" + o_.region + ":" + o_.account_id + ":stack/" +
             o_.stack_name + "/00000000-0000-0000-0000-000000000000";
    }
    if (name == "AWS::NoValue") return json{{"__fitwatch_no_value", true}};
    if (!resources_.contains(name)) throw template_error(where + ": Ref to unknown " + name);
    const auto type = resources_[name].value("Type", std::string());
    if (type == "AWS::CloudWatch::Alarm" || type == "AWS::CloudWatch::CompositeAlarm") {
      return alarm_name(name);
    }
    if (type == "AWS::SNS::Topic") {
      return "arn:aws:sns:" + o_.region + ":" + o_.account_id + ":" + topic_name(name);
    }
    return name;  // a physical ID we cannot know; only used in text
  }

  json get_att(const std::string& res, const std::string& attr, const std::string& where) {
    if (!resources_.contains(res)) throw template_error(where + ": Fn::GetAtt of unknown " + res);
    const auto type = resources_[res].value("Type", std::string());
    if ((type == "AWS::CloudWatch::Alarm" || type == "AWS::CloudWatch::CompositeAlarm") &&
        attr == "Arn") {
      return alarm_arn(alarm_name(res));
    }
    if (type == "AWS::SNS::Topic" && attr == "TopicArn") return ref(res, where);
    if (type == "AWS::SNS::Topic" && attr == "TopicName") return topic_name(res);
    // Another resource (a KMS key for the topic): an attribute we cannot
    // know, only used in text, as Ref of such a resource.
    if (type.rfind("AWS::CloudWatch::", 0) != 0 && type != "AWS::SNS::Topic")
      return res + "." + attr;
    throw template_error(where + ": Fn::GetAtt " + res + "." + attr + " is not supported");
  }

  static std::string text(const json& v, const std::string& where) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number() || v.is_boolean()) return v.dump();
    throw template_error(where + ": expected a string, got " + v.dump());
  }

  std::string sub(const std::string& pattern, const json& vars, const std::string& where) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size();) {
      if (pattern.compare(i, 2, "${") != 0) {
        out += pattern[i++];
        continue;
      }
      const auto end = pattern.find('}', i);
      if (end == std::string::npos) throw template_error(where + ": unclosed ${ in Fn::Sub");
      const std::string name = pattern.substr(i + 2, end - i - 2);
      i = end + 1;
      if (!name.empty() && name[0] == '!') {  // ${!Literal}
        out += "${" + name.substr(1) + "}";
      } else if (vars.contains(name)) {
        out += text(resolve(vars[name], where), where);
      } else if (const auto dot = name.find('.');
                 dot != std::string::npos && !params_.count(name)) {
        out += text(get_att(name.substr(0, dot), name.substr(dot + 1), where), where);
      } else {
        const json v = ref(name, where);
        if (v.is_array()) throw template_error(where + ": ${" + name + "} is a list in Fn::Sub");
        out += text(v, where);
      }
    }
    return out;
  }

  json resolve(const json& node, const std::string& where) {
    const deeper guard(*this, where);
    if (node.is_array()) {
      json out = json::array();
      for (const auto& e : node) {
        json r = resolve(e, where);
        if (!is_no_value(r)) out.push_back(r);
      }
      return out;
    }
    if (!node.is_object()) return node;
    if (node.size() == 1) {
      const auto first = node.begin();
      const std::string fn = first.key();
      const json& arg = first.value();
      if (fn == "Ref") return ref(text(arg, where), where);
      if (fn == "Condition") return named_condition(text(arg, where), where);
      if (fn.rfind("Fn::", 0) == 0) return function(fn, arg, where);
    }
    json out = json::object();
    for (const auto& [k, v] : node.items()) {
      json r = resolve(v, where);
      if (!is_no_value(r)) out[k] = r;
    }
    return out;
  }

  json function(const std::string& fn, const json& arg, const std::string& where) {
    const auto need_array = [&](std::size_t n) {
      if (!arg.is_array() || arg.size() != n) {
        throw template_error(where + ": " + fn + " expects " + std::to_string(n) + " arguments");
      }
    };
    if (fn == "Fn::Sub") {
      if (arg.is_string()) return sub(arg.get<std::string>(), json::object(), where);
      need_array(2);
      return sub(text(arg[0], where), arg[1], where);
    }
    if (fn == "Fn::Join") {
      need_array(2);
      const json list = resolve(arg[1], where);
      std::string out;
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += text(arg[0], where);
        out += text(list[i], where);
      }
      return out;
    }
    if (fn == "Fn::Select") {
      need_array(2);
      const json list = resolve(arg[1], where);
      const auto index = static_cast<std::size_t>(std::stoul(text(resolve(arg[0], where), where)));
      if (!list.is_array() || index >= list.size())
        throw template_error(where + ": Fn::Select out of range");
      return list[index];
    }
    if (fn == "Fn::Split") {
      need_array(2);
      const auto delim = text(arg[0], where);
      const auto s = text(resolve(arg[1], where), where);
      json out = json::array();
      std::size_t at = 0;
      for (std::size_t next; (next = s.find(delim, at)) != std::string::npos;
           at = next + delim.size()) {
        out.push_back(s.substr(at, next - at));
      }
      out.push_back(s.substr(at));
      return out;
    }
    if (fn == "Fn::If") {
      need_array(3);
      return resolve(named_condition(text(arg[0], where), where) ? arg[1] : arg[2], where);
    }
    if (fn == "Fn::GetAtt") {
      if (arg.is_string()) {
        const auto s = arg.get<std::string>();
        return get_att(s.substr(0, s.find('.')), s.substr(s.find('.') + 1), where);
      }
      need_array(2);
      return get_att(text(arg[0], where), text(resolve(arg[1], where), where), where);
    }
    if (fn == "Fn::Equals") {
      need_array(2);
      const json a = resolve(arg[0], where), b = resolve(arg[1], where);
      return a == b || (a.is_primitive() && b.is_primitive() && text(a, where) == text(b, where));
    }
    if (fn == "Fn::Not") {
      need_array(1);
      return !truth(arg[0], where);
    }
    if (fn == "Fn::And" || fn == "Fn::Or") {
      if (!arg.is_array()) throw template_error(where + ": " + fn + " expects a list");
      bool v = fn == "Fn::And";
      for (const auto& c : arg)
        v = fn == "Fn::And" ? (v && truth(c, where)) : (v || truth(c, where));
      return v;
    }
    if (fn == "Fn::Contains") {  // Rules
      need_array(2);
      const json list = resolve(arg[0], where), v = resolve(arg[1], where);
      for (const auto& e : list) {
        if (e == v) return true;
      }
      return false;
    }
    throw template_error(where + ": " + fn + " is not supported by fitwatch replay");
  }

  void common(const std::string& id, const json& p, alarm_common& a) {
    a.logical_id = id;
    a.name = alarm_name(id);
    a.arn = alarm_arn(a.name);
    a.description = string_or(p, "AlarmDescription", "");
    // PutMetricAlarm and PutCompositeAlarm: AlarmDescription is 0-1024
    // characters (UTF-8 code points: bytes that do not continue one).
    if (const auto n = std::count_if(a.description.begin(), a.description.end(),
                                     [](char c) { return (c & 0xC0) != 0x80; });
        n > 1024) {
      throw template_error("resource " + id + ": AlarmDescription is " + std::to_string(n) +
                           " characters; CloudWatch allows at most 1024");
    }
    a.actions_enabled = !p.contains("ActionsEnabled") || p["ActionsEnabled"] == true ||
                        p["ActionsEnabled"] == "true";
    a.ok_actions = strings(p, "OKActions");
    a.alarm_actions = strings(p, "AlarmActions");
    a.insufficient_data_actions = strings(p, "InsufficientDataActions");
  }

  static std::vector<std::pair<std::string, std::string>> dimensions(const json& p) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& d : p.value("Dimensions", json::array())) {
      out.emplace_back(d.at("Name").get<std::string>(), text(d.at("Value"), "dimension"));
    }
    return out;
  }

  metric_alarm metric(const std::string& id, const json& res) {
    const auto p = properties(id, res);
    metric_alarm a;
    common(id, p, a);
    a.ns = string_or(p, "Namespace", "");
    a.metric_name = string_or(p, "MetricName", "");
    a.statistic = p.contains("ExtendedStatistic") ? string_or(p, "ExtendedStatistic", "")
                                                  : string_or(p, "Statistic", "");
    a.dimensions = dimensions(p);
    if (p.contains("Unit")) a.unit = string_or(p, "Unit", "");
    if (p.contains("Period")) a.period = count(p, "Period", 0, id);
    a.evaluation_periods = count(p, "EvaluationPeriods", 1, id);
    a.datapoints_to_alarm = count(p, "DatapointsToAlarm", a.evaluation_periods, id);
    a.threshold = number(p, "Threshold", 0, id);
    a.comparison = string_or(p, "ComparisonOperator", "");
    a.treat_missing_data = string_or(p, "TreatMissingData", "missing");
    for (const auto& q : p.value("Metrics", json::array())) {
      metric_query m;
      m.id = string_or(q, "Id", "");
      m.expression = string_or(q, "Expression", "");
      m.label = string_or(q, "Label", "");
      m.return_data =
          !q.contains("ReturnData") || q["ReturnData"] == true || q["ReturnData"] == "true";
      if (q.contains("Period")) m.period = count(q, "Period", 0, id);
      if (q.contains("MetricStat")) {
        const auto& s = q.at("MetricStat");
        const json metric = s.value("Metric", json::object());
        m.ns = string_or(metric, "Namespace", "");
        m.metric_name = string_or(metric, "MetricName", "");
        m.dimensions = dimensions(metric);
        m.statistic = string_or(s, "Stat", "");
        if (s.contains("Period")) m.period = count(s, "Period", 0, id);
      }
      a.metrics.push_back(m);
      if (a.period == 0 && m.return_data) a.period = m.period;
    }
    if (a.metric_name.empty() && a.metrics.empty()) {
      throw template_error("resource " + id + ": neither MetricName nor Metrics");
    }
    if (a.period <= 0) throw template_error("resource " + id + ": no Period");
    if (a.period < 60 && a.period != 10 && a.period != 20 && a.period != 30) {
      throw template_error("resource " + id + ": Period " + std::to_string(a.period) +
                           " (CloudWatch allows 10, 20, 30 or a multiple of 60)");
    }
    if (a.period >= 60 && a.period % 60 != 0) {
      throw template_error("resource " + id + ": Period " + std::to_string(a.period) +
                           " is not a multiple of 60");
    }
    check_evaluation_range(id, a);
    return a;
  }

  // PutMetricAlarm's limits
  // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html):
  // DatapointsToAlarm is at most EvaluationPeriods; "Period multiplied by
  // EvaluationPeriods can't be more than 604,800 seconds. For alarms with a
  // period of less than one hour (3,600 seconds), the total evaluation period
  // can't be longer than one day (86,400 seconds)." (Unchecked, a huge
  // EvaluationPeriods made replay run for hours.)
  static void check_evaluation_range(const std::string& id, const metric_alarm& a) {
    if (a.datapoints_to_alarm > a.evaluation_periods) {
      throw template_error(
          "resource " + id + ": DatapointsToAlarm " + std::to_string(a.datapoints_to_alarm) +
          " is more than EvaluationPeriods " + std::to_string(a.evaluation_periods));
    }
    const std::int64_t range = std::int64_t{a.period} * a.evaluation_periods;
    const std::int64_t limit = a.period < 3600 ? 86400 : 604800;
    if (range > limit) {
      throw template_error("resource " + id +
                           ": Period x EvaluationPeriods = " + std::to_string(a.period) + " x " +
                           std::to_string(a.evaluation_periods) + " = " + std::to_string(range) +
                           " s; CloudWatch allows at most " + std::to_string(limit) + " s" +
                           (a.period < 3600 ? " for periods under an hour" : ""));
    }
  }

  composite_alarm composite(const std::string& id, const json& res) {
    const auto p = properties(id, res);
    composite_alarm c;
    common(id, p, c);
    c.rule = string_or(p, "AlarmRule", "");
    if (c.rule.empty()) throw template_error("resource " + id + ": no AlarmRule");
    return c;
  }

  // A name whose value is being computed, for as long as it is: a reference
  // back to one of them is a cycle, reported with the whole loop
  // (CloudFormation refuses such templates too; without this check the
  // evaluation recursed until the stack overflowed).
  class entering {
   public:
    entering(evaluator& e, std::string what) : e_(e) {
      for (std::size_t i = 0; i < e_.active_.size(); ++i) {
        if (e_.active_[i] != what) continue;
        std::string loop;
        for (std::size_t j = i; j < e_.active_.size(); ++j) loop += e_.active_[j] + " -> ";
        throw template_error("template: circular reference: " + loop + what);
      }
      e_.active_.push_back(std::move(what));
    }
    ~entering() { e_.active_.pop_back(); }
    entering(const entering&) = delete;
    entering& operator=(const entering&) = delete;

   private:
    evaluator& e_;
  };

  // Bounds the recursion of resolve(): a long chain of references (each
  // condition naming the next) is an error, not a stack overflow.
  class deeper {
   public:
    deeper(evaluator& e, const std::string& where) : e_(e) {
      if (++e_.depth_ > max_reference_depth) {
        --e_.depth_;
        throw template_error(where + ": references and functions nested more than " +
                             std::to_string(max_reference_depth) + " deep");
      }
    }
    ~deeper() { --e_.depth_; }
    deeper(const deeper&) = delete;
    deeper& operator=(const deeper&) = delete;

   private:
    evaluator& e_;
  };

  std::vector<std::string> active_;
  std::size_t depth_ = 0;
  const json& t_;
  const template_options& o_;
  std::map<std::string, json> params_;
  std::map<std::string, bool> conditions_;
  json resources_;
};

}  // namespace

json parse_template(const std::string& text) {
  if (text.size() > max_template_bytes) throw template_error("template: larger than 1 MB");
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    // nlohmann's parser and destructor are iterative: a deep document is
    // read whole, then refused before anything recurses over it.
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw template_error("template: not valid JSON");
    check_depth(j);
    return j;
  }
  try {
    return yaml_converter(text.size()).convert(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw template_error(std::string("template: not valid YAML: ") + e.what());
  }
}

template_model evaluate_template(const json& t, const template_options& options) {
  try {
    check_depth(t);
    return evaluator(t, options).run();
  } catch (const template_error&) {
    throw;
  } catch (const std::regex_error& e) {
    throw template_error(
        std::string("template: an AllowedPattern is not a valid regular expression: ") + e.what());
  } catch (const std::exception& e) {
    // A value of an unexpected type or shape (e.g. Properties that is a list).
    throw template_error(std::string("template: unexpected structure: ") + e.what());
  }
}

}  // namespace fitwatch::tools
