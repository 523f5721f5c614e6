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
#include <string>
#include <vector>

#include "fitwatch/detector.hpp"

namespace {

struct curve {
  std::vector<double> train, val;
};

double number(const nlohmann::json& x) {
  return x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>();
}

fitwatch::detector_options options_of(const nlohmann::json& set) {
  fitwatch::detector_options o;
  for (const auto& [key, value] : set.items()) {
    const double x = value.get<double>();
    const auto n = static_cast<std::size_t>(x);
    if (key == "smoothing")
      o.smoothing = x;
    else if (key == "warmup")
      o.warmup = n;
    else if (key == "gl_threshold")
      o.gl_threshold = x;
    else if (key == "gl_confirm")
      o.gl_confirm = n;
    else if (key == "gl_min_since_best")
      o.gl_min_since_best = n;
    else if (key == "gl_noise_units")
      o.gl_noise_units = x;
    else if (key == "jump_sigmas")
      o.jump_sigmas = x;
    else if (key == "trend_window")
      o.trend_window = n;
    else if (key == "trend_t")
      o.trend_t = x;
    else if (key == "trend_min_gl")
      o.trend_min_gl = x;
    else if (key == "train_falling_t")
      o.train_falling_t = x;
    else if (key == "train_window")
      o.train_window = n;
    else if (key == "strong_rise_units")
      o.strong_rise_units = x;
    else if (key == "strong_rise_confirm")
      o.strong_rise_confirm = n;
    else if (key == "window_size")
      o.window_size = n;
    else if (key == "window_units")
      o.window_units = x;
    else
      throw std::runtime_error("unknown option " + key);
  }
  return o;
}

nlohmann::json defaults() {
  const fitwatch::detector_options o;
  return {{"smoothing", o.smoothing},
          {"warmup", o.warmup},
          {"gl_threshold", o.gl_threshold},
          {"gl_confirm", o.gl_confirm},
          {"gl_min_since_best", o.gl_min_since_best},
          {"gl_noise_units", o.gl_noise_units},
          {"jump_sigmas", o.jump_sigmas},
          {"trend_window", o.trend_window},
          {"trend_t", o.trend_t},
          {"trend_min_gl", o.trend_min_gl},
          {"train_falling_t", o.train_falling_t},
          {"train_window", o.train_window},
          {"strong_rise_units", o.strong_rise_units},
          {"strong_rise_confirm", o.strong_rise_confirm},
          {"window_size", o.window_size},
          {"window_units", o.window_units}};
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
