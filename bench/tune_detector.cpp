// Runs the library's detector over many curves with many option sets, for
// bench/corpus/tune.py (the choice of the defaults on the tuning half).
//
// stdin:  line 1, a JSON array of option sets ({"gl_threshold": 5, ...});
//         then one curve per line: {"train": [...], "val": [...]}, null for a
//         non-finite loss.
//         `tune_detector --defaults` prints the library's defaults instead.
// stdout: one line per option set: a JSON array holding, for every curve in
//         order, the index of the first evaluation with the verdict
//         (overfitting or diverged), or null.
#include <cmath>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "fitwatch/detector.hpp"

namespace {

struct curve {
  std::vector<double> train, val;
};

double number(const nlohmann::json& x) {
  return x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>();
}

// The options a set names, by the detector's own table: every number,
// count and boolean can be tuned (a boolean as true/false or 0/1).
fitwatch::detector_options options_of(const nlohmann::json& set) {
  fitwatch::detector_options o;
  for (const auto& [key, value] : set.items()) {
    const auto* option = fitwatch::detector_option_of(key);
    if (option == nullptr) throw std::runtime_error("unknown option " + key);
    const double x = value.is_boolean() ? double(value.get<bool>()) : value.get<double>();
    std::visit(
        [&](auto member) {
          auto& v = o.*member;
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            v = x;
          } else if constexpr (std::is_same_v<T, std::size_t>) {
            v = static_cast<std::size_t>(x);
          } else if constexpr (std::is_same_v<T, bool>) {
            v = x != 0;
          } else {
            throw std::runtime_error("option " + key + " is not a number, count or boolean");
          }
        },
        option->member);
  }
  return o;
}

// The library's defaults of every finite number, count and boolean (tune.py starts
// from them and searches those of its grid).
nlohmann::json defaults() {
  const fitwatch::detector_options o;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& option : fitwatch::detector_option_table()) {
    std::visit(
        [&](auto member) {
          const auto& v = o.*member;
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::size_t> || std::is_same_v<T, bool>) {
            out[std::string(option.name)] = v;
          } else if constexpr (std::is_same_v<T, double>) {
            if (std::isfinite(v)) out[std::string(option.name)] = v;  // JSON has no inf
          }
        },
        option.member);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--defaults") {
    std::cout << defaults().dump() << "\n";
    return 0;
  }
  std::string line;
  if (!std::getline(std::cin, line)) return 2;
  const auto sets = nlohmann::json::parse(line);
  std::vector<curve> curves;
  while (std::getline(std::cin, line)) {
    const auto j = nlohmann::json::parse(line);
    curve c;
    for (const auto& x : j.at("train")) c.train.push_back(number(x));
    for (const auto& x : j.at("val")) c.val.push_back(number(x));
    curves.push_back(std::move(c));
  }
  for (const auto& set : sets) {
    const auto options = options_of(set);
    std::string out = "[";
    for (std::size_t k = 0; k < curves.size(); ++k) {
      fitwatch::detector d(options);
      std::string first = "null";
      for (std::size_t i = 0; i < curves[k].val.size(); ++i) {
        const auto& s = d.update({curves[k].train[i], curves[k].val[i]});
        if (s.overfitting || s.diverged) {
          first = std::to_string(i);
          break;
        }
      }
      out += (k ? "," : "") + first;
    }
    std::cout << out << "]\n";
  }
  return 0;
}
