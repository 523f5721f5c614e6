// Doubles as text and back (src/number_text.hpp): the bytes are those of
// std::to_chars and the values those of std::from_chars, with the standard
// library's <charconv> or with the fallback GCC 10 builds use ({fmt} +
// strtod_l). tests/data/number_text.txt was written by libstdc++ 12's
// std::to_chars (tests/data/make_number_text.cpp): every build compares
// with it, so a GCC 10 build of these tests checks its fallback too.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#if __has_include(<fmt/format.h>)
#define FITWATCH_NUMBER_FALLBACK 1  // the fallback too, beside <charconv>
#endif
#include "number_text.hpp"

namespace {

using fitwatch::detail::format_double;
using fitwatch::detail::max_double_text;
using fitwatch::detail::parse_double;

double from_bits(std::uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
std::uint64_t bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

std::string text(double v) {
  char buf[max_double_text];
  return std::string(buf, format_double(buf, v));
}

struct golden_row {
  std::uint64_t bits;
  std::string text;
};

std::vector<golden_row> golden() {
  std::ifstream in(FITWATCH_SOURCE_DIR "/tests/data/number_text.txt");
  std::vector<golden_row> rows;
  std::string hex, t;
  while (in >> hex >> t) {
    if (hex[0] == '#') {
      std::getline(in, t);
      continue;
    }
    rows.push_back({std::stoull(hex, nullptr, 16), t});
  }
  return rows;
}

// Edge values: powers of ten and two and their neighbours, subnormals, the
// extremes, the switch between fixed and scientific, integers at 2^53.
std::vector<double> edge_values() {
  std::vector<double> v{0.0,
                        -0.0,
                        1.0,
                        0.1,
                        1e16,
                        1e-7,
                        1e15,
                        1e17,
                        1e21,
                        1e22,
                        1e23,
                        1e-5,
                        1e-4,
                        1e-3,
                        0.001,
                        123456.0,
                        5e-324,
                        1e-310,
                        2.2250738585072014e-308,
                        2.225073858507201e-308,
                        1.7976931348623157e308,
                        9007199254740992.0,
                        9007199254740994.0,
                        1.2345678901234567e20,
                        0.30000000000000004,
                        2.0 / 3,
                        1.0 / 3};
  for (int e = -325; e <= 309; ++e) {
    const double p = std::strtod(("1e" + std::to_string(e)).c_str(), nullptr);
    v.insert(v.end(), {p, std::nextafter(p, 0.0), std::nextafter(p, 1e308)});
  }
  for (int e = -1074; e <= 1023; ++e) {
    const double p = std::ldexp(1.0, e);
    v.insert(v.end(), {p, std::nextafter(p, 0.0), std::nextafter(p, 1e308), 3 * p});
  }
  const std::size_t n = v.size();
  for (std::size_t i = 0; i < n; ++i) v.push_back(-v[i]);
  return v;
}

}  // namespace

TEST_CASE("doubles are written as libstdc++'s std::to_chars wrote them (the table)") {
  const auto rows = golden();
  REQUIRE(rows.size() > 10000);
  for (const auto& r : rows) {
    const double v = from_bits(r.bits);
    CHECK_MESSAGE(text(v) == r.text, r.text);
#ifdef FITWATCH_NUMBER_FALLBACK
    char buf[max_double_text];
    CHECK(std::string(buf, fitwatch::detail::fallback::format_double(buf, v)) == r.text);
#endif
    double back = 0;
    const auto [end, ec] = parse_double(r.text.data(), r.text.data() + r.text.size(), back);
    CHECK((ec == std::errc() && end == r.text.data() + r.text.size() && bits(back) == r.bits));
  }
}

TEST_CASE("the fixed and scientific layouts of the fallback are to_chars's") {
#if defined(FITWATCH_NUMBER_FALLBACK) && defined(__cpp_lib_to_chars)
  using fitwatch::detail::fallback::layout;
  const auto check = [](double v) {
    char want[400], got[400];
    for (const auto& [format, how] : {std::pair{std::chars_format::fixed, layout::fixed},
                                      std::pair{std::chars_format::scientific, layout::scientific},
                                      std::pair{std::chars_format::general, layout::plain}}) {
      if (format == std::chars_format::general) {
        const auto w = std::to_chars(want, want + sizeof want, v);
        REQUIRE(w.ec == std::errc());
        CHECK(std::string(got, fitwatch::detail::fallback::format_double(got, v, how)) ==
              std::string(want, w.ptr));
        continue;
      }
      const auto w = std::to_chars(want, want + sizeof want, v, format);
      REQUIRE(w.ec == std::errc());
      CHECK(std::string(got, fitwatch::detail::fallback::format_double(got, v, how)) ==
            std::string(want, w.ptr));
    }
  };
  for (const double v : edge_values()) {
    if (std::isfinite(v)) check(v);
  }
  std::mt19937_64 random(20261207);
  for (int i = 0; i < 200000; ++i) {
    const double v = from_bits(random());
    if (std::isfinite(v)) check(v);
  }
  // Numbers people write: few digits, every scale.
  std::uniform_int_distribution<int> digits(0, 999999), exponent(-30, 30);
  for (int i = 0; i < 100000; ++i) {
    check(std::stod(std::to_string(digits(random)) + "e" + std::to_string(exponent(random))));
  }
#else
  MESSAGE("no {fmt} headers, or no std::to_chars to compare with: the table test covers this");
#endif
}

TEST_CASE("text is read as std::from_chars reads it, exactly") {
#if defined(FITWATCH_NUMBER_FALLBACK) && defined(__cpp_lib_to_chars)
  const auto check = [](const std::string& s) {
    double want = -7.25, got = -7.25;
    const auto w = std::from_chars(s.data(), s.data() + s.size(), want);
    const auto g = fitwatch::detail::fallback::parse_double(s.data(), s.data() + s.size(), got);
    CHECK_MESSAGE(g.ec == w.ec, s);
    CHECK_MESSAGE(g.ptr == w.ptr, s);
    CHECK_MESSAGE((bits(got) == bits(want) || (std::isnan(got) && std::isnan(want))), s);
  };
  for (const char* s : {"",
                        "-",
                        "+1",
                        " 1",
                        "1",
                        "-1",
                        "1.",
                        ".5",
                        "-.5",
                        ".",
                        "-.",
                        "1e",
                        "1e+",
                        "1e-",
                        "1e5",
                        "1E5",
                        "1e+5x",
                        "0x10",
                        "inf",
                        "-inf",
                        "INF",
                        "infinity",
                        "Infinity",
                        "infin",
                        "nan",
                        "-nan",
                        "NaN",
                        "nan(123)",
                        "nan(",
                        "nan(x",
                        "1e-400",
                        "2e-324",
                        "3e-324",
                        "4e-324",
                        "1e-310",
                        "1e400",
                        "-1e400",
                        "0e400",
                        "0.0000e-9999",
                        "1e99999999999999999999",
                        "2.2250738585072011e-308",
                        "1.7976931348623158e308",
                        "1.7976931348623159e308",
                        "9007199254740993",
                        "0.1000000000000000055511151231257827021181583404541015625",
                        "12,5",
                        "1_000",
                        "1e5.5",
                        "00012",
                        "-0",
                        "--1",
                        "1..2",
                        "\xc2\xb9"}) {
    check(s);
  }
  check(std::string(400, '9'));
  check("0." + std::string(400, '0') + "1e400");
  std::mt19937_64 random(7);
  for (int i = 0; i < 100000; ++i) {
    const double v = from_bits(random());
    if (!std::isfinite(v)) continue;
    char buf[64];
    check(std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr));
    check(std::string(
        buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, 25).ptr));
  }
  // Halfway cases between two doubles: 17 digits and more.
  for (int i = 0; i < 20000; ++i) {
    const double v = from_bits(random() >> 2);
    const long double half = v + (static_cast<long double>(std::nextafter(v, 1e308)) - v) / 2;
    char buf[80];
    std::snprintf(buf, sizeof buf, "%.40Le", half);  // x87's 64 bits hold it exactly
    check(buf);
  }
#else
  MESSAGE("no {fmt} headers, or no std::from_chars to compare with: the table test covers this");
#endif
}
