// A composite alarm's AlarmRule: ALARM(x), OK(x), INSUFFICIENT_DATA(x),
// TRUE, FALSE, AND, OR, NOT and parentheses, x an alarm name or ARN
// (quoted or not).
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "alarms/model.hpp"

namespace fitwatch::alarms {

class alarm_rule {
 public:
  struct node;  ///< the parsed rule (defined in alarm_rule.cpp)

  /// \throw alarm_error "AlarmRule: <why> in: <text>"
  explicit alarm_rule(const std::string& text);
  ~alarm_rule();
  alarm_rule(alarm_rule&&) noexcept;
  alarm_rule& operator=(alarm_rule&&) noexcept;

  /// The alarms the rule names (names or ARNs, as written), in order.
  std::vector<std::string> alarms() const;
  /// The rule's value, given the state of each alarm it names.
  bool evaluate(const std::function<alarm_state(const std::string&)>& state_of) const;

 private:
  std::unique_ptr<node> root_;
};

}  // namespace fitwatch::alarms
