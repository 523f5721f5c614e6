// Private: the text of an option as hyperparameters, FITWATCH_* variables,
// torchrun's RANK variables and the C ABI hand it over, read one way for each
// meaning (a boolean, a whole number, a number or infinity, a JSON-quoted
// value), and the seconds of a C ABI timeout. Shared by settings.cpp,
// sagemaker.cpp and c_api.cpp, so a value reads the same from every front
// end. Nothing here trims: " 5", "5 " and "5\r" are malformed, as are hex
// ("0x10"), NaN and out-of-range text ("1e999").
//
// Errors: every parse_* throws fitwatch::error naming the key and the value
// (both cut to 200 characters), e.g.
// `fitwatch: setting fitwatch_smoothing="abc": not a number`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace fitwatch::detail {

/// Throws fitwatch::error `setting <key>="<value>": <why>`, key and value cut
/// to 200 characters (they come from outside).
[[noreturn]] void throw_bad_option(std::string_view key, std::string_view value,
                                   const std::string& why);

/// A value the SageMaker Python SDK JSON-quoted ("\"0.5\"") -> its text
/// (0.5); any other text is returned as it is.
/// \throw error on a malformed quoted value.
std::string parse_json_quoted(std::string_view raw, std::string_view key);
/// "True"/"true"/"1" -> true, "False"/"false"/"0" -> false.
/// \throw error on anything else.
bool parse_boolean(std::string_view text, std::string_view key);
/// A finite decimal number as std::from_chars reads it (no sign '+', no
/// space, no hex), or "inf"/"Infinity" for +infinity.
/// \throw error on anything else, NaN and out-of-range text included.
double parse_number_or_infinity(std::string_view text, std::string_view key);
/// A whole number 0 <= n <= 2^64 - 1, decimal digits only.
/// \throw error on anything else.
std::uint64_t parse_count(std::string_view text, std::string_view key);

/// Seconds, 0 to 1e9, as milliseconds (the C ABI's timeouts).
/// \throw error on NaN, a negative value or more than 1e9.
std::chrono::milliseconds milliseconds_of_seconds(double seconds);

}  // namespace fitwatch::detail
