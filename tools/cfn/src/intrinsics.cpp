// Evaluating a template's intrinsic functions (Ref, Fn::Sub, Fn::Join,
// Fn::Select, Fn::Split, Fn::If, Fn::GetAtt, the condition functions),
// its Conditions and Rules, and the expansion of Fn::ForEach; references
// are followed with cycle and depth checks.
#include <cctype>

#include "evaluator.hpp"

namespace fitwatch::cfn::detail {
namespace {

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

}  // namespace

evaluator::evaluator(const json& t, const template_options& o) : t_(t), o_(o) {
  if (!t_.is_object() || !t_.contains("Resources") || !t_["Resources"].is_object()) {
    throw template_error("template: no Resources section");
  }
  params_ = read_parameters(t_, o_.parameters);
  check_rules();
  expand_resources();
}

void evaluator::check_rules() {
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

void evaluator::expand_resources() {
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

void evaluator::add_resource(const std::string& id, const json& body) {
  if (resources_.contains(id)) {
    throw template_error("resource " + id +
                         ": duplicate logical ID (Fn::ForEach keeps only letters and digits of "
                         "each value, so two values can collide)");
  }
  resources_[id] = body;
}

bool evaluator::condition_holds(const std::string& id, const json& res) {
  if (!res.contains("Condition")) return true;
  return named_condition(res["Condition"].get<std::string>(), "resource " + id);
}

bool evaluator::named_condition(const std::string& name, const std::string& where) {
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

bool evaluator::truth(const json& node, const std::string& where) {
  const json v = resolve(node, where);
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) return v == "true";
  throw template_error(where + ": not a condition: " + node.dump());
}

json evaluator::properties(const std::string& id, const json& res) {
  json out = json::object();
  const json props = res.value("Properties", json::object());
  for (const auto& [k, v] : props.items()) {
    json r = resolve(v, "resource " + id + " property " + k);
    if (!is_no_value(r)) out[k] = r;
  }
  return out;
}

std::string evaluator::alarm_name(const std::string& id) {
  const auto& res = resources_[id];
  if (res.contains("Properties") && res["Properties"].contains("AlarmName")) {
    const entering guard(*this, "resource " + id);
    return resolve(res["Properties"]["AlarmName"], "resource " + id + " property AlarmName")
        .get<std::string>();
  }
  return o_.stack_name + "-" + id;  // CloudFormation adds a random suffix too
}

std::string evaluator::alarm_arn(const std::string& name) const {
  return "arn:aws:cloudwatch:" + o_.region + ":" + o_.account_id + ":alarm:" + name;
}

std::string evaluator::topic_name(const std::string& id) {
  const auto& res = resources_[id];
  if (res.contains("Properties") && res["Properties"].contains("TopicName")) {
    const entering guard(*this, "resource " + id);
    return resolve(res["Properties"]["TopicName"], "resource " + id).get<std::string>();
  }
  return o_.stack_name + "-" + id;
}

// Ref of a parameter, pseudo parameter or resource.
json evaluator::ref(const std::string& name, const std::string& where) {
  if (const auto it = params_.find(name); it != params_.end()) return it->second;
  if (name == "AWS::Region") return o_.region;
  if (name == "AWS::AccountId") return o_.account_id;
  if (name == "AWS::StackName") return o_.stack_name;
  if (name == "AWS::Partition") return "aws";
  if (name == "AWS::URLSuffix") return "amazonaws.com";
  if (name == "AWS::StackId") {
    return "arn:aws:cloudformation:" + o_.region + ":" + o_.account_id + ":stack/" + o_.stack_name +
           "/00000000-0000-0000-0000-000000000000";
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

json evaluator::get_att(const std::string& res, const std::string& attr, const std::string& where) {
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
  if (type.rfind("AWS::CloudWatch::", 0) != 0 && type != "AWS::SNS::Topic") return res + "." + attr;
  throw template_error(where + ": Fn::GetAtt " + res + "." + attr + " is not supported");
}

std::string evaluator::text(const json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  throw template_error(where + ": expected a string, got " + v.dump());
}

std::string evaluator::sub(const std::string& pattern, const json& vars, const std::string& where) {
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
    } else if (const auto dot = name.find('.'); dot != std::string::npos && !params_.count(name)) {
      out += text(get_att(name.substr(0, dot), name.substr(dot + 1), where), where);
    } else {
      const json v = ref(name, where);
      if (v.is_array()) throw template_error(where + ": ${" + name + "} is a list in Fn::Sub");
      out += text(v, where);
    }
  }
  return out;
}

json evaluator::resolve(const json& node, const std::string& where) {
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

json evaluator::function(const std::string& fn, const json& arg, const std::string& where) {
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
    for (const auto& c : arg) v = fn == "Fn::And" ? (v && truth(c, where)) : (v || truth(c, where));
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

}  // namespace fitwatch::cfn::detail
