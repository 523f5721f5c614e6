#include "cfn/stacks.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace fitwatch::cfn {
namespace {

// A stack name for a template file among several: its stem, as
// CloudFormation allows one (a letter, then letters, digits and hyphens),
// made unique among the names already `taken`.
std::string stack_name_of(const std::string& path, const std::vector<std::string>& taken) {
  std::string stem = path.substr(path.find_last_of('/') + 1);  // npos + 1 = 0
  stem = stem.substr(0, std::min<std::size_t>(stem.find('.'), 100));
  std::string name;
  for (const char c : stem) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) name = "stack-" + name;
  std::string unique = name;
  for (int i = 2; std::find(taken.begin(), taken.end(), unique) != taken.end(); ++i)
    unique = name + "-" + std::to_string(i);
  return unique;
}

// Adds one stack's alarms and topics to the others'. CloudWatch alarm names
// are unique in an account and Region, and so are topic names.
void merge_stack(alarms::template_model& all, alarms::template_model&& m) {
  const auto check = [&](const std::string& name, bool taken, const char* what) {
    if (taken) {
      throw template_error(std::string(what) + " " + name +
                           " is also declared by an earlier --template (stacks " + all.stack_name +
                           "); names are unique in an account and Region");
    }
  };
  const auto alarm_taken = [&](const std::string& name) {
    for (const auto& a : all.alarms)
      if (a.name == name) return true;
    for (const auto& a : all.composites)
      if (a.name == name) return true;
    return false;
  };
  for (auto& a : m.alarms) {
    check(a.name, alarm_taken(a.name), "alarm");
    all.alarms.push_back(std::move(a));
  }
  for (auto& a : m.composites) {
    check(a.name, alarm_taken(a.name), "alarm");
    all.composites.push_back(std::move(a));
  }
  for (auto& tp : m.topics) {
    bool taken = false;
    for (const auto& other : all.topics) taken |= other.arn == tp.arn;
    check(tp.arn, taken, "topic");
    all.topics.push_back(std::move(tp));
  }
  for (auto& s : m.skipped) all.skipped.push_back(std::move(s));
  all.stack_name += (all.stack_name.empty() ? "" : ", ") + m.stack_name;
}

}  // namespace

alarms::template_model read_stacks(const std::vector<std::string>& paths,
                                   const template_options& options) {
  alarms::template_model all;
  all.region = options.region;
  all.account_id = options.account_id;
  const bool several = paths.size() > 1;
  std::vector<std::string> names;
  std::set<std::string> declared;  // parameter names some template declares
  for (const auto& path : paths) {
    try {
      std::ifstream f(path, std::ios::binary);
      if (!f) throw template_error("cannot open " + path + ": " + std::strerror(errno));
      std::stringstream text;
      text << f.rdbuf();
      const auto parsed = parse_template(text.str());
      template_options t = options;
      if (several) {
        t.stack_name = stack_name_of(path, names);
        const bool has =
            parsed.is_object() && parsed.contains("Parameters") && parsed["Parameters"].is_object();
        for (auto it = t.parameters.begin(); it != t.parameters.end();) {
          if (has && parsed["Parameters"].contains(it->first)) {
            declared.insert(it->first);
            ++it;
          } else {
            it = t.parameters.erase(it);
          }
        }
      }
      names.push_back(t.stack_name);
      merge_stack(all, evaluate_template(parsed, t));
    } catch (const std::exception& e) {
      throw template_error(path + ": " + e.what());
    }
  }
  for (const auto& [name, value] : options.parameters) {
    if (several && declared.count(name) == 0)
      throw template_error("--param " + name + "=" + value + ": no template declares " + name);
  }
  return all;
}

}  // namespace fitwatch::cfn
