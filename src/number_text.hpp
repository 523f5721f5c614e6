// Private: doubles as text and back, byte for byte as the C++17
// std::to_chars / std::from_chars of libstdc++ 11+ write and read them, for
// compilers whose library has no floating-point <charconv> (GCC 10, Debian
// 11: the compiler the wheel is built with, docs/python.md).
//
// Where the standard library has them (__cpp_lib_to_chars), format_double and
// parse_double are std::to_chars and std::from_chars. Otherwise:
// - the shortest digits come from {fmt} (Dragonbox: the shortest decimal
//   that reads back exactly, the closest one among equally short; Debian's
//   libfmt-dev, used header-only), and are laid out here as to_chars lays them
//   out: fixed or scientific, whichever is shorter, fixed on a tie; an
//   integer of 2^53 or more is written exactly (its digits, not the shortest
//   digits padded with zeros, as libstdc++ does);
// - the text is read by strtod_l in the "C" locale (exact, correctly rounded
//   in glibc) after checking from_chars's syntax, with its out-of-range rule.
// tests/test_number_text.cpp compares both with std::to_chars/from_chars on
// edge values and random ones, and with a table written by std::to_chars.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#if !defined(__cpp_lib_to_chars) || defined(FITWATCH_NUMBER_FALLBACK)
#if !__has_include(<fmt/format.h>)
#error \
    "fitwatch: this C++ library has no floating-point std::to_chars (GCC < 11): \
install {fmt}'s headers (apt-get install libfmt-dev) or use GCC 11 or newer"
#endif
#define FMT_HEADER_ONLY
#include <fmt/format.h>
#include <locale.h>
#include <stdlib.h>
#endif

namespace fitwatch::detail {

/// Longest text format_double writes (sign, 17 digits, point, "e-308", or an
/// integer below 1e24).
inline constexpr std::size_t max_double_text = 32;

#if !defined(__cpp_lib_to_chars) || defined(FITWATCH_NUMBER_FALLBACK)
namespace fallback {

// The shortest decimal of a finite v > 0: digits d1 d2 ... dn (no trailing
// zero), value d1.d2...dn x 10^exponent.
struct decimal {
  char digits[24];
  int length = 0;
  int exponent = 0;
};

inline decimal shortest(double v) {
  char text[64];
  const auto end = fmt::format_to_n(text, sizeof text - 1, "{}", v).out;
  decimal d;
  int before_point = 0;  // digits kept before the point
  bool point = false, leading = true;
  const char* p = text;
  for (; p != end && *p != 'e' && *p != 'E'; ++p) {
    if (*p == '.') {
      point = true;
      continue;
    }
    if (*p < '0' || *p > '9') continue;
    if (leading && *p == '0') {
      if (point) --before_point;  // 0.00ddd: each zero after the point
      continue;
    }
    leading = false;
    if (!point) ++before_point;
    if (d.length < static_cast<int>(sizeof d.digits)) d.digits[d.length++] = *p;
  }
  int e = 0;
  if (p != end) {
    ++p;
    const bool negative = p != end && *p == '-';
    if (p != end && (*p == '-' || *p == '+')) ++p;
    for (; p != end; ++p) e = e * 10 + (*p - '0');
    if (negative) e = -e;
  }
  while (d.length > 1 && d.digits[d.length - 1] == '0') --d.length;
  d.exponent = before_point + e - 1;
  return d;
}

inline char* put_exponent(char* out, int e) {
  *out++ = 'e';
  *out++ = e < 0 ? '-' : '+';
  const int a = e < 0 ? -e : e;
  if (a >= 100) *out++ = static_cast<char>('0' + a / 100);
  *out++ = static_cast<char>('0' + a / 10 % 10);
  *out++ = static_cast<char>('0' + a % 10);
  return out;
}

inline char* scientific(char* out, const decimal& d) {
  *out++ = d.digits[0];
  if (d.length > 1) {
    *out++ = '.';
    std::memcpy(out, d.digits + 1, static_cast<std::size_t>(d.length - 1));
    out += d.length - 1;
  }
  return put_exponent(out, d.exponent);
}

// a = |v|, d its shortest decimal.
inline char* fixed(char* out, double a, const decimal& d) {
  const int n = d.length, x = d.exponent;
  if (x >= n - 1) {                 // an integer
    if (a >= 9007199254740992.0) {  // 2^53: its exact digits (glibc's %.0f is exact)
      char buf[400];
      const int len = std::snprintf(buf, sizeof buf, "%.0f", a);
      std::memcpy(out, buf, static_cast<std::size_t>(len));
      return out + len;
    }
    std::memcpy(out, d.digits, static_cast<std::size_t>(n));  // below 2^53 both agree
    out += n;
    for (int i = n; i <= x; ++i) *out++ = '0';
    return out;
  }
  if (x >= 0) {
    std::memcpy(out, d.digits, static_cast<std::size_t>(x + 1));
    out += x + 1;
    *out++ = '.';
    std::memcpy(out, d.digits + x + 1, static_cast<std::size_t>(n - x - 1));
    return out + (n - x - 1);
  }
  *out++ = '0';
  *out++ = '.';
  for (int i = -1; i > x; --i) *out++ = '0';
  std::memcpy(out, d.digits, static_cast<std::size_t>(n));
  return out + n;
}

enum class layout { plain, fixed, scientific };

/// std::to_chars(first, last, v[, fmt]) for a finite v; `first` has room for
/// max_double_text characters (plain, scientific) or 330 (fixed).
inline char* format_double(char* out, double v, layout how = layout::plain) {
  if (std::signbit(v)) *out++ = '-';
  const double a = std::fabs(v);
  decimal d;
  if (a == 0) {
    d.digits[0] = '0';
    d.length = 1;
  } else {
    d = shortest(a);
  }
  if (how == layout::plain) {
    const int n = d.length, x = d.exponent;
    const int sci = n + (n > 1 ? 1 : 0) + 2 + (x >= 100 || x <= -100 ? 3 : 2);
    const int fix = x >= n - 1 ? x + 1 : x >= 0 ? n + 1 : n + 1 - x;
    how = fix <= sci ? layout::fixed : layout::scientific;
  }
  return how == layout::fixed ? fixed(out, a, d) : scientific(out, d);
}

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline bool match_word(const char*& p, const char* last, const char* word) {
  const char* q = p;
  for (; *word != '\0'; ++word, ++q) {
    if (q == last || (*q | 0x20) != *word) return false;
  }
  p = q;
  return true;
}

/// std::from_chars(first, last, v) (chars_format::general).
inline std::from_chars_result parse_double(const char* first, const char* last, double& v) {
  const char* p = first;
  const bool negative = p != last && *p == '-';
  if (negative) ++p;
  if (match_word(p, last, "inf")) {
    const char* q = p;
    if (match_word(q, last, "inity")) p = q;
    v = negative ? -HUGE_VAL : HUGE_VAL;
    return {p, std::errc()};
  }
  if (match_word(p, last, "nan")) {
    if (p != last && *p == '(') {  // nan(n-char-sequence)
      const char* q = p + 1;
      while (q != last && (is_digit(*q) || *q == '_' || ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z')))
        ++q;
      if (q != last && *q == ')') p = q + 1;
    }
    v = negative ? -std::nan("") : std::nan("");
    return {p, std::errc()};
  }
  const char* digits = p;
  bool any = false, nonzero = false;
  for (; p != last && is_digit(*p); ++p) any = true, nonzero = nonzero || *p != '0';
  if (p != last && *p == '.') {
    ++p;
    for (; p != last && is_digit(*p); ++p) any = true, nonzero = nonzero || *p != '0';
  }
  if (!any) return {first, std::errc::invalid_argument};
  if (p != last && (*p == 'e' || *p == 'E')) {
    const char* q = p + 1;
    if (q != last && (*q == '+' || *q == '-')) ++q;
    if (q != last && is_digit(*q)) {
      while (q != last && is_digit(*q)) ++q;
      p = q;
    }
  }
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", locale_t{});
  const std::string text(digits, p);
  const double r = strtod_l(text.c_str(), nullptr, c_locale);
  if (std::isinf(r) || (r == 0 && nonzero)) return {p, std::errc::result_out_of_range};
  v = negative ? -r : r;
  return {p, std::errc()};
}

}  // namespace fallback
#endif

/// std::to_chars(out, out + max_double_text, v) for a finite v: the shortest
/// text that reads back exactly.
inline char* format_double(char* out, double v) {
#if defined(__cpp_lib_to_chars)
  return std::to_chars(out, out + max_double_text, v).ptr;
#else
  return fallback::format_double(out, v);
#endif
}

/// std::to_chars(out, ..., v, std::chars_format::fixed) (`fixed` true) or
/// ::scientific for a finite v: the shortest digits that read back exactly, in
/// that layout. `out` has room for 330 characters (fixed) or max_double_text.
inline char* format_double_as(char* out, double v, bool fixed) {
#if defined(__cpp_lib_to_chars)
  return std::to_chars(out, out + 330, v,
                       fixed ? std::chars_format::fixed : std::chars_format::scientific)
      .ptr;
#else
  return fallback::format_double(out, v,
                                 fixed ? fallback::layout::fixed : fallback::layout::scientific);
#endif
}

/// std::from_chars(first, last, v).
inline std::from_chars_result parse_double(const char* first, const char* last, double& v) {
#if defined(__cpp_lib_to_chars)
  return std::from_chars(first, last, v);
#else
  return fallback::parse_double(first, last, v);
#endif
}

}  // namespace fitwatch::detail
