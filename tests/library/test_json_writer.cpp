// The JSON primitives: escapes (RFC 8259), UTF-8 (RFC 3629), numbers.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "json_writer.hpp"

using fitwatch::detail::append_json_string;
using fitwatch::detail::utf8_cut;
using fitwatch::detail::valid_utf8;

namespace {
std::string encode(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}
}  // namespace

TEST_CASE("strings are escaped as RFC 8259 requires") {
  CHECK(encode("plain") == "\"plain\"");
  CHECK(encode("a\"b\\c") == R"("a\"b\\c")");
  CHECK(encode("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(encode(std::string_view("\x01\x1f\0", 3)) == R"("\u0001\u001f\u0000")");
  CHECK(encode("caf\xc3\xa9 \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  // What we write parses back to what we meant.
  const std::string tricky = "x\"\\\n\x7f\xe2\x82\xac";
  CHECK(nlohmann::json::parse(encode(tricky)).get<std::string>() == tricky);
}

TEST_CASE("invalid UTF-8 becomes U+FFFD, one per bad byte") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(encode("\xff") == "\"" + fffd + "\"");
  CHECK(encode("\xc0\xaf") == "\"" + fffd + fffd + "\"");                        // overlong '/'
  CHECK(encode("\xed\xa0\x80") == "\"" + fffd + fffd + fffd + "\"");             // surrogate
  CHECK(encode("\xf4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");  // > U+10FFFF
  CHECK(encode("ab\xe2\x82") == "\"ab" + fffd + fffd + "\"");  // truncated sequence
  CHECK_NOTHROW(nlohmann::json::parse(encode("\x80\xbf\xfe")));
}

TEST_CASE("UTF-8 validation and cutting") {
  std::size_t n = 0;
  CHECK(valid_utf8("h\xc3\xa9llo", &n));
  CHECK(n == 5);
  CHECK_FALSE(valid_utf8("\xc3"));
  CHECK_FALSE(valid_utf8("\xe0\x80\x80"));
  const std::string s = "a\xc3\xa9\xe2\x82\xac";  // a é €
  CHECK(utf8_cut(s, 10) == s.size());
  CHECK(utf8_cut(s, 2) == 1);  // does not split é
  CHECK(utf8_cut(s, 3) == 3);
  CHECK(utf8_cut(s, 5) == 3);  // does not split €
}
