#include "alarms/math.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "alarms/error.hpp"
#include "cursor.hpp"

namespace fitwatch::alarms {

struct math_expression::node {
  enum kind { number, id, unary_minus, binary, call, array } k = number;
  double value = 0;
  std::string name;  // id, operator or function
  std::vector<node> kids;
};

namespace {

using node = math_expression::node;

class parser {
 public:
  explicit parser(const std::string& s) : in_("metric math", s) {}
  node parse() {
    node n = parse_or();
    in_.expect_end();
    check(n, nullptr);
    return n;
  }

 private:
  static node bin(const std::string& name, node a, node b) {
    node n;
    n.k = node::binary;
    n.name = name;
    n.kids.push_back(std::move(a));
    n.kids.push_back(std::move(b));
    return n;
  }
  node parse_or() {
    node l = parse_and();
    while (in_.eat("OR") || in_.eat("||")) l = bin("OR", std::move(l), parse_and());
    return l;
  }
  node parse_and() {
    node l = parse_cmp();
    while (in_.eat("AND") || in_.eat("&&")) l = bin("AND", std::move(l), parse_cmp());
    return l;
  }
  node parse_cmp() {
    node l = parse_add();
    for (const char* o : {">=", "<=", "==", "!=", ">", "<"}) {
      if (in_.eat(o)) return bin(o, std::move(l), parse_add());
    }
    return l;
  }
  node parse_add() {
    node l = parse_mul();
    for (;;) {
      if (in_.eat("+")) {
        l = bin("+", std::move(l), parse_mul());
      } else if (in_.eat("-")) {
        l = bin("-", std::move(l), parse_mul());
      } else {
        return l;
      }
    }
  }
  node parse_mul() {
    node l = parse_unary();
    for (;;) {
      if (in_.eat("*")) {
        l = bin("*", std::move(l), parse_unary());
      } else if (in_.eat("/")) {
        l = bin("/", std::move(l), parse_unary());
      } else {
        return l;
      }
    }
  }
  node parse_unary() {
    if (in_.eat("-")) {
      node n;
      n.k = node::unary_minus;
      n.kids.push_back(parse_unary());
      return n;
    }
    return parse_primary();
  }
  node parse_primary() {
    if (in_.at_end()) in_.fail("unexpected end");
    node n;
    if (in_.eat("(")) {
      n = parse_or();
      if (!in_.eat(")")) in_.fail("missing ')'");
      return n;
    }
    if (in_.eat("[")) {
      n.k = node::array;
      do {
        n.kids.push_back(parse_or());
      } while (in_.eat(","));
      if (!in_.eat("]")) in_.fail("missing ']'");
      return n;
    }
    const char c = in_.peek();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      n.value = in_.number();
      return n;
    }
    if (!std::isalpha(static_cast<unsigned char>(c)))
      in_.fail(std::string("unexpected '") + c + "'");
    n.name = in_.word();
    if (in_.eat("(")) {
      static const std::vector<std::string> functions = {"ABS", "DIFF", "RATE", "FILL", "IF",
                                                         "MAX", "MIN",  "SUM",  "AVG"};
      if (std::find(functions.begin(), functions.end(), n.name) == functions.end()) {
        in_.fail("function " + n.name + " is not supported by fitwatch replay");
      }
      n.k = node::call;
      if (!in_.eat(")")) {
        do {
          if (n.name == "FILL" && n.kids.size() == 1 && in_.eat("REPEAT")) {
            node r;
            r.k = node::id;
            r.name = "REPEAT";
            n.kids.push_back(r);
            continue;
          }
          n.kids.push_back(parse_or());
        } while (in_.eat(","));
        if (!in_.eat(")")) in_.fail("missing ')'");
      }
      return n;
    }
    n.k = node::id;
    return n;
  }
  // True if `x` is a number, not a time series, whatever the data: ids are
  // series; MAX/MIN/SUM/AVG of one series are a number over the range.
  static bool scalar(const node& x) {
    switch (x.k) {
      case node::number:
        return true;
      case node::unary_minus:
        return scalar(x.kids[0]);
      case node::binary:
        return scalar(x.kids[0]) && scalar(x.kids[1]);
      case node::call:
        if (x.name == "ABS") return scalar(x.kids[0]);
        if (x.name == "MAX" || x.name == "MIN" || x.name == "SUM" || x.name == "AVG")
          return x.kids[0].k != node::array;
        return false;
      case node::id:
      case node::array:
        return false;
    }
    return false;
  }

  // The arity and argument types of every call, and arrays only where they
  // are allowed: checked when the alarm is read, not while evaluating it.
  void check(const node& x, const node* parent) {
    for (const auto& k : x.kids) check(k, &x);  // arguments first: scalar() reads them
    if (x.k == node::array && !(parent != nullptr && parent->k == node::call &&
                                (parent->name == "MAX" || parent->name == "MIN" ||
                                 parent->name == "SUM" || parent->name == "AVG"))) {
      in_.fail("an [array] is only an argument of MAX, MIN, SUM or AVG");
    }
    if (x.k == node::call) {
      const auto& f = x.name;
      std::size_t lo = 1, hi = 1;
      if (f == "FILL") lo = hi = 2;
      if (f == "IF") lo = 2, hi = 3;
      if (x.kids.size() < lo || x.kids.size() > hi) {
        in_.fail(f + " takes " + std::to_string(lo) +
                 (hi == lo ? "" : " or " + std::to_string(hi)) + " argument" +
                 (hi == 1 ? "" : "s") + ", not " + std::to_string(x.kids.size()));
      }
      if ((f == "DIFF" || f == "RATE" || f == "FILL" ||
           ((f == "MAX" || f == "MIN" || f == "SUM" || f == "AVG") &&
            x.kids[0].k != node::array)) &&
          scalar(x.kids[0])) {
        in_.fail(f + " needs a time series, not a number");
      }
    }
  }

  text_cursor in_;
};

// A value: a series, or a scalar (MAX(m1) over the range, a number).
struct value {
  bool scalar = false;
  double s = 0;
  period_series v;
  std::optional<double> at(std::size_t i) const { return scalar ? std::optional<double>(s) : v[i]; }
};

struct evaluator {
  const std::function<const period_series&(const std::string&)>& lookup;
  std::int64_t first;
  std::int64_t period;
  std::size_t n;
  const std::string& text;

  [[noreturn]] void fail(const std::string& why) const {
    throw alarm_error("metric math: " + why + " in: " + text);
  }

  value series_of(const node& x) {
    value r = eval(x);
    if (r.scalar) fail("a function needs a time series, not a number");
    return r;
  }

  value eval(const node& x) {
    value r;
    switch (x.k) {
      case node::number:
        r.scalar = true;
        r.s = x.value;
        return r;
      case node::id:
        r.v = lookup(x.name);
        return r;
      case node::unary_minus: {
        r = eval(x.kids[0]);
        if (r.scalar) r.s = -r.s;
        for (auto& e : r.v) {
          if (e) e = -*e;
        }
        return r;
      }
      case node::array:
        fail("an [array] is only an argument of MAX, MIN, SUM or AVG");
      case node::binary: {
        const value a = eval(x.kids[0]), b = eval(x.kids[1]);
        const auto f = [&](double p, double q) -> std::optional<double> {
          const auto& o = x.name;
          if (o == "+") return p + q;
          if (o == "-") return p - q;
          if (o == "*") return p * q;
          if (o == "/") return q == 0 ? std::nullopt : std::optional<double>(p / q);
          if (o == ">") return p > q ? 1.0 : 0.0;
          if (o == "<") return p < q ? 1.0 : 0.0;
          if (o == ">=") return p >= q ? 1.0 : 0.0;
          if (o == "<=") return p <= q ? 1.0 : 0.0;
          if (o == "==") return p == q ? 1.0 : 0.0;
          if (o == "!=") return p != q ? 1.0 : 0.0;
          if (o == "AND") return (p != 0 && q != 0) ? 1.0 : 0.0;
          return (p != 0 || q != 0) ? 1.0 : 0.0;  // OR
        };
        if (a.scalar && b.scalar) {
          r.scalar = true;
          r.s = f(a.s, b.s).value_or(std::nan(""));
          return r;
        }
        r.v.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
          const auto p = a.at(i), q = b.at(i);
          if (p && q) r.v[i] = f(*p, *q);
        }
        return r;
      }
      case node::call:
        return call(x);
    }
    return r;
  }

  value call(const node& x) {
    const auto& f = x.name;
    const auto args = [&](std::size_t lo, std::size_t hi) {
      if (x.kids.size() < lo || x.kids.size() > hi)
        fail(f + " takes " + std::to_string(lo) + " argument(s)");
    };
    value r;
    r.v.resize(n);
    if (f == "ABS") {
      args(1, 1);
      value a = eval(x.kids[0]);
      if (a.scalar) {
        a.s = std::fabs(a.s);
        return a;
      }
      for (auto& e : a.v) {
        if (e) e = std::fabs(*e);
      }
      return a;
    }
    if (f == "DIFF" || f == "RATE") {
      args(1, 1);
      const value a = series_of(x.kids[0]);
      std::optional<std::size_t> prev;
      for (std::size_t i = 0; i < n; ++i) {
        if (!a.v[i]) continue;
        if (prev) {
          const double d = *a.v[i] - *a.v[*prev];
          const double seconds =
              static_cast<double>((i - *prev) * static_cast<std::size_t>(period)) / 1000.0;
          r.v[i] = f == "DIFF" ? d : d / seconds;
        }
        prev = i;
      }
      return r;
    }
    if (f == "FILL") {
      args(2, 2);
      const value a = series_of(x.kids[0]);
      const bool repeat = x.kids[1].k == node::id && x.kids[1].name == "REPEAT";
      const value b = repeat ? value{} : eval(x.kids[1]);
      std::optional<double> last;
      for (std::size_t i = 0; i < n; ++i) {
        if (a.v[i]) {
          r.v[i] = a.v[i];
          last = a.v[i];
        } else {
          r.v[i] = repeat ? last : b.at(i);
        }
      }
      return r;
    }
    if (f == "IF") {
      args(2, 3);
      const value c = eval(x.kids[0]), a = eval(x.kids[1]);
      const value b = x.kids.size() == 3 ? eval(x.kids[2]) : value{true, std::nan(""), {}};
      for (std::size_t i = 0; i < n; ++i) {
        const auto cond = c.at(i);
        if (!cond) continue;
        const auto pick = *cond != 0 ? a.at(i) : b.at(i);
        if (pick && !std::isnan(*pick)) r.v[i] = pick;
      }
      return r;
    }
    // MAX, MIN, SUM, AVG
    args(1, 1);
    const auto combine = [&](const std::vector<double>& xs) -> std::optional<double> {
      if (xs.empty()) return std::nullopt;
      if (f == "MAX") return *std::max_element(xs.begin(), xs.end());
      if (f == "MIN") return *std::min_element(xs.begin(), xs.end());
      double s = 0;
      for (const double v : xs) s += v;
      return f == "SUM" ? s : s / static_cast<double>(xs.size());
    };
    if (x.kids[0].k == node::array) {  // per period, across the series
      std::vector<value> parts;
      for (const auto& k : x.kids[0].kids) parts.push_back(eval(k));
      for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> xs;
        for (const auto& p : parts) {
          if (const auto v = p.at(i)) xs.push_back(*v);
        }
        r.v[i] = combine(xs);
      }
      return r;
    }
    const value a = series_of(x.kids[0]);  // one series: a scalar over the range
    std::vector<double> xs;
    for (const auto& e : a.v) {
      if (e) xs.push_back(*e);
    }
    const auto s = combine(xs);
    r.scalar = true;
    r.s = s.value_or(std::nan(""));
    return r;
  }
};

void collect(const node& n, std::vector<std::string>& out) {
  if (n.k == node::id && n.name != "REPEAT") out.push_back(n.name);
  for (const auto& k : n.kids) collect(k, out);
}

}  // namespace

math_expression::math_expression(const std::string& text)
    : root_(std::make_unique<node>(parser(text).parse())), text_(text) {}
math_expression::~math_expression() = default;
math_expression::math_expression(math_expression&&) noexcept = default;

std::vector<std::string> math_expression::ids() const {
  std::vector<std::string> out;
  collect(*root_, out);
  return out;
}

period_series math_expression::evaluate(
    const std::function<const period_series&(const std::string&)>& lookup,
    std::int64_t first_start_ms, std::int64_t period_ms, std::size_t length) const {
  evaluator e{lookup, first_start_ms, period_ms, length, text_};
  value v = e.eval(*root_);
  if (v.scalar) {
    period_series out(length);
    if (!std::isnan(v.s)) std::fill(out.begin(), out.end(), v.s);
    return out;
  }
  return v.v;
}

}  // namespace fitwatch::alarms
