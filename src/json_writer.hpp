// Private: the few JSON writing primitives the serializer needs, written for
// speed (no allocation once the output string has grown) and for safety
// (invalid UTF-8 becomes U+FFFD instead of an exception).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "number_text.hpp"

namespace fitwatch::detail {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

/// True if `s` is valid UTF-8; stores the number of code points in *count.
bool valid_utf8(std::string_view s, std::size_t* count = nullptr) noexcept;

/// The longest prefix of `s` of at most `max_bytes` that ends on a UTF-8
/// sequence boundary.
std::size_t utf8_cut(std::string_view s, std::size_t max_bytes) noexcept;

/// Appends `s` as a quoted JSON string (RFC 8259 escapes; invalid UTF-8
/// bytes become U+FFFD).
void append_json_string(std::string& out, std::string_view s);

/// Appends a finite double in the shortest form that reads back exactly.
inline void append_number(std::string& out, double v) {
  char buf[max_double_text];
  out.append(buf, format_double(buf, v));  // std::to_chars, or its GCC 10 stand-in
}

inline void append_number(std::string& out, std::int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

}  // namespace fitwatch::detail
