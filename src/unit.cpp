#include "fitwatch/unit.hpp"

#include <array>

namespace fitwatch {
namespace {
// Same order as the enum; the strings of the CloudWatch API reference.
constexpr std::array<std::string_view, unit_count> unit_names = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
};
}  // namespace

std::string_view to_string(unit u) noexcept {
  const auto i = static_cast<std::size_t>(u);
  return i < unit_names.size() ? unit_names[i] : std::string_view{"None"};
}

std::optional<unit> parse_unit(std::string_view name) noexcept {
  for (std::size_t i = 0; i < unit_names.size(); ++i) {
    if (unit_names[i] == name) return static_cast<unit>(i);
  }
  return std::nullopt;
}

}  // namespace fitwatch
