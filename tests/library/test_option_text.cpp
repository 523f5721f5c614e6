// The shared parsing of an option's text (src/option_text.hpp): one reading
// per meaning, hostile input refused with the key and the value named.
#include "option_text.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "fitwatch/error.hpp"
#include "fitwatch/sagemaker.hpp"
#include "support.hpp"

namespace detail = fitwatch::detail;

using fitwatch::test::error_of;

namespace {

// Text that no parser of a number, count or boolean accepts.
const char* const hostile[] = {"",      " 5",     "5 ", "5\r", "5\n", "5\r\n", "\r\n",
                               "0x10",  "0X10",   "+5", "5,0", "nan", "NaN",   "-nan",
                               "1e999", "-1e999", "1e", "e5",  ".",   "--1"};

}  // namespace

TEST_CASE("parse_number_or_infinity: a finite decimal, or inf/Infinity") {
  CHECK(detail::parse_number_or_infinity("0.5", "k") == 0.5);
  CHECK(detail::parse_number_or_infinity("-2", "k") == -2.0);
  CHECK(detail::parse_number_or_infinity("1e-3", "k") == 1e-3);
  CHECK(detail::parse_number_or_infinity("1.7976931348623157e308", "k") ==
        std::numeric_limits<double>::max());
  CHECK(std::isinf(detail::parse_number_or_infinity("inf", "k")));
  CHECK(std::isinf(detail::parse_number_or_infinity("Infinity", "k")));
  for (const char* text : hostile) {
    CAPTURE(text);
    CHECK_THROWS_AS(detail::parse_number_or_infinity(text, "k"), fitwatch::error);
  }
  // std::from_chars reads these as infinity; they are not the two spellings.
  for (const char* text : {"-inf", "infinity", "INF", "+inf", "inf "}) {
    CAPTURE(text);
    CHECK_THROWS_AS(detail::parse_number_or_infinity(text, "k"), fitwatch::error);
  }
  CHECK(error_of([] { detail::parse_number_or_infinity("1e999", "fitwatch_smoothing"); }) ==
        "fitwatch: setting fitwatch_smoothing=\"1e999\": not a number");
  // The public name and its former name read the same way.
  CHECK(fitwatch::parse_number_or_infinity("2.5", "k") == 2.5);
  CHECK(fitwatch::parse_number("2.5", "k") == 2.5);
}

TEST_CASE("parse_count: decimal digits only, 0 to 2^64 - 1") {
  CHECK(detail::parse_count("0", "k") == 0);
  CHECK(detail::parse_count("007", "k") == 7);
  CHECK(detail::parse_count("18446744073709551615", "k") ==
        std::numeric_limits<std::uint64_t>::max());
  CHECK_THROWS_AS(detail::parse_count("18446744073709551616", "k"), fitwatch::error);
  for (const char* text : hostile) {
    CAPTURE(text);
    CHECK_THROWS_AS(detail::parse_count(text, "k"), fitwatch::error);
  }
  for (const char* text : {"-1", "1.0", "1e3", "inf"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(detail::parse_count(text, "k"), fitwatch::error);
  }
  CHECK(error_of([] { detail::parse_count("-1", "RANK"); }) ==
        "fitwatch: setting RANK=\"-1\": not a whole number >= 0");
}

TEST_CASE("parse_boolean: Python's str(), JSON's, or 1/0") {
  for (const char* text : {"True", "true", "1"}) CHECK(detail::parse_boolean(text, "k"));
  for (const char* text : {"False", "false", "0"}) CHECK_FALSE(detail::parse_boolean(text, "k"));
  for (const char* text : hostile) {
    CAPTURE(text);
    CHECK_THROWS_AS(detail::parse_boolean(text, "k"), fitwatch::error);
  }
  for (const char* text : {"TRUE", "yes", "on", "true ", " 1", "01", "2"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(detail::parse_boolean(text, "k"), fitwatch::error);
  }
}

TEST_CASE("parse_json_quoted: the SDK's quoting is decoded, other text kept as it is") {
  CHECK(detail::parse_json_quoted("\"0.5\"", "k") == "0.5");
  CHECK(detail::parse_json_quoted("\"a\\\"b\"", "k") == "a\"b");
  CHECK(detail::parse_json_quoted("\"\"", "k").empty());
  CHECK(detail::parse_json_quoted("0.5", "k") == "0.5");
  CHECK(detail::parse_json_quoted("\"", "k") == "\"");  // one quote is not a quoted value
  CHECK(detail::parse_json_quoted(" \"x\"", "k") == " \"x\"");
  for (const char* text : {"\"a\"b\"", "\"\\x\"", "\"line\nbreak\""}) {
    CAPTURE(text);
    CHECK_THROWS_AS(detail::parse_json_quoted(text, "k"), fitwatch::error);
  }
}

TEST_CASE("a huge value is refused, and the message cuts key and value to 200 characters") {
  const std::string digits(1000000, '9');
  const std::string key(500, 'k');
  const auto what = error_of([&] { detail::parse_number_or_infinity(digits, key); });
  CHECK(what.rfind("fitwatch: setting " + std::string(200, 'k') + "...=\"" + std::string(200, '9') +
                       "...\": not a number",
                   0) == 0);
  CHECK(what.size() < 500);
  CHECK_THROWS_AS(detail::parse_count(digits, "k"), fitwatch::error);
  CHECK_THROWS_AS(detail::parse_boolean(digits, "k"), fitwatch::error);
}

TEST_CASE("parse_write_ranks: 0 or all") {
  CHECK(fitwatch::parse_write_ranks("0", "k") == fitwatch::write_ranks::zero);
  CHECK(fitwatch::parse_write_ranks("all", "k") == fitwatch::write_ranks::all);
  for (const char* text : {"1", "ALL", "all ", "", "00", "0\n"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(fitwatch::parse_write_ranks(text, "k"), fitwatch::error);
  }
}

TEST_CASE("milliseconds_of_seconds: 0 to 1e9 seconds, NaN and infinities refused") {
  CHECK(detail::milliseconds_of_seconds(0).count() == 0);
  CHECK(detail::milliseconds_of_seconds(0.5).count() == 500);
  CHECK(detail::milliseconds_of_seconds(1e9).count() == 1000000000000);
  for (const double s :
       {-1.0, -0.0001, 1e9 + 1, std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    CAPTURE(s);
    CHECK_THROWS_AS(detail::milliseconds_of_seconds(s), fitwatch::error);
  }
}
