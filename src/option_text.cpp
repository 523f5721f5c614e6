#include "option_text.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "fitwatch/error.hpp"
#include "number_text.hpp"

namespace fitwatch::detail {

void throw_bad_option(std::string_view key, std::string_view value, const std::string& why) {
  const auto cut = [](std::string_view t) {
    return t.size() > 200 ? std::string(t.substr(0, 200)) + "..." : std::string(t);
  };
  throw error("setting " + cut(key) + "=\"" + cut(value) + "\": " + why);
}

std::string parse_json_quoted(std::string_view raw, std::string_view key) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::string(raw);
  const auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_string()) throw_bad_option(key, raw, "malformed JSON-quoted value");
  return j.get<std::string>();
}

bool parse_boolean(std::string_view text, std::string_view key) {
  if (text == "True" || text == "true" || text == "1") return true;
  if (text == "False" || text == "false" || text == "0") return false;
  throw_bad_option(key, text, "not a boolean (True, False, true, false, 1, 0)");
}

double parse_number_or_infinity(std::string_view text, std::string_view key) {
  if (text == "inf" || text == "Infinity") return std::numeric_limits<double>::infinity();
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = parse_double(text.data(), end, v);  // std::from_chars
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) {
    throw_bad_option(key, text, "not a number");
  }
  return v;
}

std::uint64_t parse_count(std::string_view text, std::string_view key) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw_bad_option(key, text, "not a whole number >= 0");
  }
  return v;
}

std::chrono::milliseconds milliseconds_of_seconds(double seconds) {
  if (!(seconds >= 0) || seconds > 1e9) {
    throw error("a timeout must be 0 to 1e9 seconds, got " + std::to_string(seconds));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

}  // namespace fitwatch::detail
