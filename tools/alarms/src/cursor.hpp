// The cursor shared by the two small recursive-descent parsers of the
// tools: a composite alarm's AlarmRule (alarm_rule.cpp) and metric math
// (math.cpp).
#pragma once

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include "alarms/error.hpp"

namespace fitwatch::alarms {

class text_cursor {
 public:
  /// `what` names the language in every error: "<what>: <why> in: <text>".
  /// The text must outlive the cursor.
  text_cursor(std::string_view what, const std::string& text) : what_(what), text_(text) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw alarm_error(std::string(what_) + ": " + why + " in: " + text_);
  }

  /// The next character after white space, '\0' at the end.
  char peek() {
    skip();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  /// Consumes `token` if the text continues with it, after white space. A
  /// token that starts with a letter matches whole words only, and '>',
  /// '<', '=' and '!' do not match the start of ">=", "<=", "==" or "!=".
  bool eat(std::string_view token) {
    skip();
    if (text_.compare(pos_, token.size(), token) != 0) return false;
    const std::size_t end = pos_ + token.size();
    const char next = end < text_.size() ? text_[end] : '\0';
    if (word_char(token[0]) && word_char(next)) return false;
    if (token.size() == 1 && std::string_view("><=!").find(token[0]) != std::string_view::npos &&
        next == '=') {
      return false;
    }
    pos_ = end;
    return true;
  }

  /// Consumes and returns a word (letters, digits, '_'), empty if none.
  std::string word() {
    skip();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && word_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  /// Consumes text up to (not including) `stop`, or fails with `missing`.
  std::string until(char stop, const std::string& missing) {
    const auto end = text_.find(stop, pos_);
    if (end == std::string::npos) fail(missing);
    std::string out = text_.substr(pos_, end - pos_);
    pos_ = end;
    return out;
  }

  /// Consumes a decimal number (digits, an optional fraction and exponent:
  /// no sign, hex, "nan" or "inf"); fails if there is none or it is not a
  /// finite double.
  double number() {
    skip();
    const auto digits = [&](std::size_t p) {
      while (p < text_.size() && std::isdigit(static_cast<unsigned char>(text_[p]))) ++p;
      return p;
    };
    std::size_t end = digits(pos_);
    if (end < text_.size() && text_[end] == '.') end = digits(end + 1);
    if (end < text_.size() && (text_[end] == 'e' || text_[end] == 'E')) {
      std::size_t e = end + 1;
      if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
      if (digits(e) > e) end = digits(e);
    }
    const std::string literal = text_.substr(pos_, end - pos_);
    const double value = std::strtod(literal.c_str(), nullptr);
    if (literal.find_first_of("0123456789") == std::string::npos || !std::isfinite(value)) {
      fail("bad number '" + text_.substr(pos_, 12) + "'");
    }
    pos_ = end;
    return value;
  }

  /// True if only white space is left.
  bool at_end() {
    skip();
    return pos_ >= text_.size();
  }

  /// Fails unless only white space is left.
  void expect_end() {
    if (!at_end()) fail("unexpected '" + text_.substr(pos_, 20) + "'");
  }

 private:
  static bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
  void skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string_view what_;
  const std::string& text_;
  std::size_t pos_ = 0;
};

}  // namespace fitwatch::alarms
