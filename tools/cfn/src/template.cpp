#include "cfn/template.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

namespace fitwatch::tools {
namespace {

using nlohmann::json;

// ---- YAML -> JSON ----------------------------------------------------------

json scalar_value(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  static const std::regex number(R"(^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$)");
  if (std::regex_match(s, number)) {
    if (s.find_first_of(".eE") == std::string::npos && s.size() < 18) return std::stoll(s);
    return std::stod(s);
  }
  return s;
}

json to_json(const YAML::Node& node) {
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
      for (const auto& item : node) value.push_back(to_json(item));
      break;
    case YAML::NodeType::Map:
      value = json::object();
      for (const auto& kv : node) value[kv.first.as<std::string>()] = to_json(kv.second);
      break;
    case YAML::NodeType::Undefined:
      break;
  }
  const std::string& tag = node.Tag();
  if (tag.size() > 1 && tag[0] == '!' && tag != "!") {
    const std::string name = tag.substr(1);
    if (node.Type() == YAML::NodeType::Scalar) value = node.Scalar();  // tag arguments are strings
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
    return m;
  }

 private:
  // Parameters: defaults, overrides, types, AllowedValues, AllowedPattern.
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
      const auto type = p.value("Type", std::string("String"));
      json value;
      std::vector<std::string> items;
      if (type == "CommaDelimitedList" || type.rfind("List<", 0) == 0) {
        std::stringstream ss(*raw);
        std::string item;
        while (std::getline(ss, item, ',')) items.push_back(item);
        if (raw->empty() || raw->back() == ',') items.emplace_back();
        value = items;
      } else {
        items = {*raw};
        value = *raw;
      }
      if (type == "Number") {
        try {
          std::size_t used = 0;
          std::stod(*raw, &used);
          if (used != raw->size()) throw std::invalid_argument("x");
        } catch (const std::exception&) {
          throw template_error("parameter " + name + ": '" + *raw + "' is not a Number");
        }
      }
      for (const auto& item : items) {
        if (p.contains("AllowedValues")) {
          bool ok = false;
          for (const auto& a : p["AllowedValues"]) {
            ok |= (a.is_string() ? a.get<std::string>() : a.dump()) == item;
          }
          if (!ok)
            throw template_error("parameter " + name + ": '" + item + "' is not an AllowedValue");
        }
        if (p.contains("AllowedPattern") &&
            !std::regex_match(item, std::regex(p["AllowedPattern"].get<std::string>()))) {
          throw template_error("parameter " + name + ": '" + item +
                               "' does not match AllowedPattern " +
                               p["AllowedPattern"].get<std::string>() +
                               (p.contains("ConstraintDescription")
                                    ? " (" + p["ConstraintDescription"].get<std::string>() + ")"
                                    : ""));
        }
      }
      params_[name] = value;
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
    const json all = t_.value("Conditions", json::object());
    if (!all.contains(name)) throw template_error(where + ": no condition " + name);
    const bool v = truth(all[name], "condition " + name);
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

  static double number(const json& o, const char* key, double fallback, const std::string& id) {
    if (!o.contains(key)) return fallback;
    const auto& v = o[key];
    if (v.is_number()) return v.get<double>();
    try {
      return std::stod(v.get<std::string>());
    } catch (const std::exception&) {
      throw template_error("resource " + id + ": " + key + " is not a number: " + v.dump());
    }
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
    a.period = static_cast<int>(number(p, "Period", 0, id));
    a.evaluation_periods = static_cast<int>(number(p, "EvaluationPeriods", 1, id));
    a.datapoints_to_alarm =
        static_cast<int>(number(p, "DatapointsToAlarm", a.evaluation_periods, id));
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
      m.period = static_cast<int>(number(q, "Period", 0, id));
      if (q.contains("MetricStat")) {
        const auto& s = q.at("MetricStat");
        const json metric = s.value("Metric", json::object());
        m.ns = string_or(metric, "Namespace", "");
        m.metric_name = string_or(metric, "MetricName", "");
        m.dimensions = dimensions(metric);
        m.statistic = string_or(s, "Stat", "");
        m.period = static_cast<int>(number(s, "Period", 0, id));
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
    return a;
  }

  composite_alarm composite(const std::string& id, const json& res) {
    const auto p = properties(id, res);
    composite_alarm c;
    common(id, p, c);
    c.rule = string_or(p, "AlarmRule", "");
    if (c.rule.empty()) throw template_error("resource " + id + ": no AlarmRule");
    return c;
  }

  const json& t_;
  const template_options& o_;
  std::map<std::string, json> params_;
  std::map<std::string, bool> conditions_;
  json resources_;
};

}  // namespace

json parse_template(const std::string& text) {
  // CloudFormation accepts template bodies up to 1 MB.
  if (text.size() > 1024 * 1024) throw template_error("template: larger than 1 MB");
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw template_error("template: not valid JSON");
    return j;
  }
  try {
    return to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw template_error(std::string("template: not valid YAML: ") + e.what());
  }
}

template_model evaluate_template(const json& t, const template_options& options) {
  try {
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
