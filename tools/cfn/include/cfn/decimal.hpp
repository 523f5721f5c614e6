// Finite decimal numbers as CloudFormation's Number parameter type reads
// them ("An integer or float": an optional sign, digits with an optional
// fraction, an optional exponent; no hex, no inf or nan, no spaces):
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
// One parser for the template reader and the command line (durations).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace fitwatch::cfn {

/// The value of `s` if it is a finite decimal number and nothing else.
std::optional<double> decimal_value(std::string_view s);

/// The finite decimal number `s` starts with and its length in characters
/// ("90s" gives 90 and 2), or nullopt.
std::optional<std::pair<double, std::size_t>> leading_decimal(std::string_view s);

}  // namespace fitwatch::cfn
