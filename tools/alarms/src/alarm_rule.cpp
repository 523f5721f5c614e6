#include "alarms/alarm_rule.hpp"

#include <cctype>

#include "cursor.hpp"

namespace fitwatch::alarms {

struct alarm_rule::node {
  enum kind { state_fn, op_and, op_or, op_not, constant } k = constant;
  alarm_state wanted = alarm_state::alarm;
  std::string alarm;  // name or ARN
  bool value = false;
  std::vector<node> kids;
};

namespace {

using rule_node = alarm_rule::node;

class rule_parser {
 public:
  explicit rule_parser(const std::string& text) : in_("AlarmRule", text) {}
  rule_node parse() {
    auto n = parse_or();
    in_.expect_end();
    return n;
  }

 private:
  rule_node parse_or() {
    auto left = parse_and();
    while (in_.eat("OR")) {
      rule_node n;
      n.k = rule_node::op_or;
      n.kids = {left, parse_and()};
      left = n;
    }
    return left;
  }
  rule_node parse_and() {
    auto left = parse_not();
    while (in_.eat("AND")) {
      rule_node n;
      n.k = rule_node::op_and;
      n.kids = {left, parse_not()};
      left = n;
    }
    return left;
  }
  rule_node parse_not() {
    if (in_.eat("NOT")) {
      rule_node n;
      n.k = rule_node::op_not;
      n.kids = {parse_not()};
      return n;
    }
    return parse_primary();
  }
  rule_node parse_primary() {
    rule_node n;
    if (in_.eat("(")) {
      n = parse_or();
      if (!in_.eat(")")) in_.fail("missing ')'");
      return n;
    }
    if (in_.eat("TRUE")) {
      n.value = true;
      return n;
    }
    if (in_.eat("FALSE")) return n;
    if (in_.eat("INSUFFICIENT_DATA")) {
      n.wanted = alarm_state::insufficient_data;
    } else if (in_.eat("ALARM")) {
      n.wanted = alarm_state::alarm;
    } else if (in_.eat("OK")) {
      n.wanted = alarm_state::ok;
    } else {
      in_.fail("expected ALARM(), OK(), INSUFFICIENT_DATA(), NOT, TRUE, FALSE or '('");
    }
    n.k = rule_node::state_fn;
    if (!in_.eat("(")) in_.fail("missing '(' after a state function");
    if (in_.eat("\"")) {
      n.alarm = in_.until('"', "unclosed quote");
      in_.eat("\"");
    } else {
      n.alarm = in_.until(')', "missing ')'");
      while (!n.alarm.empty() && std::isspace(static_cast<unsigned char>(n.alarm.back())))
        n.alarm.pop_back();
    }
    if (!in_.eat(")")) in_.fail("missing ')'");
    return n;
  }
  text_cursor in_;
};

void collect_alarms(const rule_node& n, std::vector<std::string>& out) {
  if (n.k == rule_node::state_fn) out.push_back(n.alarm);
  for (const auto& k : n.kids) collect_alarms(k, out);
}

bool eval(const rule_node& n, const std::function<alarm_state(const std::string&)>& state_of) {
  switch (n.k) {
    case rule_node::state_fn:
      return state_of(n.alarm) == n.wanted;
    case rule_node::op_and:
      return eval(n.kids[0], state_of) && eval(n.kids[1], state_of);
    case rule_node::op_or:
      return eval(n.kids[0], state_of) || eval(n.kids[1], state_of);
    case rule_node::op_not:
      return !eval(n.kids[0], state_of);
    case rule_node::constant:
      return n.value;
  }
  return false;
}

}  // namespace

alarm_rule::alarm_rule(const std::string& text)
    : root_(std::make_unique<node>(rule_parser(text).parse())) {}
alarm_rule::~alarm_rule() = default;
alarm_rule::alarm_rule(alarm_rule&&) noexcept = default;
alarm_rule& alarm_rule::operator=(alarm_rule&&) noexcept = default;

std::vector<std::string> alarm_rule::alarms() const {
  std::vector<std::string> out;
  collect_alarms(*root_, out);
  return out;
}

bool alarm_rule::evaluate(const std::function<alarm_state(const std::string&)>& state_of) const {
  return eval(*root_, state_of);
}

}  // namespace fitwatch::alarms
