// Private to the cfn room: the evaluation of one parsed template into a
// template_model, split by concept over reader.cpp (parameters and the
// reading limits), intrinsics.cpp (references, functions, conditions,
// Fn::ForEach) and alarm_model.cpp (alarms, topics, subscriptions).
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cfn/template.hpp"

namespace fitwatch::cfn::detail {

using nlohmann::json;

// Ours: real templates nest about 10 levels; 100 keeps every recursion over
// the template (and over references between its parts) far from the stack's end.
constexpr std::size_t max_depth = 100;
constexpr std::size_t max_reference_depth = 200;

/// Refuses a document nested more than max_depth levels (iteratively).
/// \throw template_error
void check_depth(const json& root);

/// The value of every parameter (a string, or a list for list types): the
/// override, else the Default, checked against the parameter's type and
/// constraints.
/// \throw template_error
std::map<std::string, json> read_parameters(const json& t,
                                            const std::map<std::string, std::string>& overrides);

class evaluator {
 public:
  /// Reads the parameters, checks the Rules and expands Fn::ForEach.
  evaluator(const json& t, const template_options& o);
  alarms::template_model run();

 private:
  void check_rules();
  void expand_resources();
  void add_resource(const std::string& id, const json& body);
  bool condition_holds(const std::string& id, const json& res);
  bool named_condition(const std::string& name, const std::string& where);
  bool truth(const json& node, const std::string& where);
  json properties(const std::string& id, const json& res);
  std::string alarm_name(const std::string& id);
  std::string alarm_arn(const std::string& name) const;
  std::string topic_name(const std::string& id);
  json ref(const std::string& name, const std::string& where);
  json get_att(const std::string& res, const std::string& attr, const std::string& where);
  static std::string text(const json& v, const std::string& where);
  std::string sub(const std::string& pattern, const json& vars, const std::string& where);
  json resolve(const json& node, const std::string& where);
  json function(const std::string& fn, const json& arg, const std::string& where);
  void check_header_values(const alarms::template_model& m) const;
  void lambda_subscription(alarms::template_model& m, const std::string& id, const json& props);
  static std::string string_or(const json& o, const char* key, const std::string& fallback);
  static double number(const json& o, const char* key, double fallback, const std::string& id);
  static int count(const json& o, const char* key, int fallback, const std::string& id);
  static std::vector<std::string> strings(const json& o, const char* key);
  void common(const std::string& id, const json& p, alarms::alarm_common& a);
  static std::vector<std::pair<std::string, std::string>> dimensions(const json& p);
  alarms::metric_alarm metric(const std::string& id, const json& res);
  static void check_evaluation_range(const std::string& id, const alarms::metric_alarm& a);
  alarms::composite_alarm composite(const std::string& id, const json& res);

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

}  // namespace fitwatch::cfn::detail
