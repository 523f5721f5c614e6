// The detector's option table: every option's name, what it takes, what it
// does, and its member. Front ends (settings, the C ABI, `fitwatch emit`)
// read it; the detector writes its options as text with it in a saved state.
#include <cmath>

#include "fitwatch/detector.hpp"
#include "number_text.hpp"

namespace fitwatch {

const std::vector<detector_option>& detector_option_table() {
  using d = detector_options;
  static const std::vector<detector_option> t = {
      {"monitor", "text",
       "the validation metric the rules read (its name in the EMF lines); ValidationLoss is the "
       "validation loss",
       &d::monitor},
      {"mode", "min or max", "min: lower values of the monitored metric are better; max: higher",
       &d::mode},
      {"min_delta", "number", "a change smaller than this is neither an improvement nor a rise",
       &d::min_delta},
      {"warmup", "count", "evaluations ignored by every rule", &d::warmup},
      {"smoothing", "number", "EMA weight of the newest validation loss, in (0, 1]; 1 = raw",
       &d::smoothing},
      {"noise_detrend", "boolean",
       "the noise unit leaves out a steady trend (the median change per evaluation)",
       &d::noise_detrend},
      {"gl_threshold", "number", "GL rule: percent above the best; 0 disables it",
       &d::gl_threshold},
      {"gl_confirm", "count", "GL rule: evaluations in a row", &d::gl_confirm},
      {"gl_min_since_best", "count", "GL rule: evaluations after the best", &d::gl_min_since_best},
      {"gl_noise_units", "number", "GL rule: noise units above the best; 0 = percent only",
       &d::gl_noise_units},
      {"jump_sigmas", "number", "jump rule: noise units above the best; 0 disables it",
       &d::jump_sigmas},
      {"trend_window", "count", "trend rule: evaluations (0 or 3 to 16); 0 disables it",
       &d::trend_window},
      {"trend_t", "number", "trend rule: t statistic of the slope", &d::trend_t},
      {"trend_min_gl", "number", "trend rule: percent above the best", &d::trend_min_gl},
      {"train_falling_t", "number",
       "GL, jump and trend fire only while the training loss falls this many standard errors; 0 "
       "disables the condition",
       &d::train_falling_t},
      {"train_window", "count", "training losses the slope reads at least (3 to 16)",
       &d::train_window},
      {"strong_rise_units", "number",
       "GL, jump and trend also fire, whatever the training loss does, this many noise units "
       "above the best; 0 = never",
       &d::strong_rise_units},
      {"strong_rise_percent", "number",
       "GL, jump and trend also fire, whatever the training loss does, this many percent "
       "above the best; 0 = never",
       &d::strong_rise_percent},
      {"strong_rise_confirm", "count", "...for this many evaluations in a row (at least 1)",
       &d::strong_rise_confirm},
      {"window_size", "count", "window rule: evaluations per mean (0 to 16); 0 disables it",
       &d::window_size},
      {"window_units", "number", "window rule: noise units of a mean above the lowest mean so far",
       &d::window_units},
      {"cusum_k", "number", "CUSUM rule: noise units above the best forgiven per evaluation",
       &d::cusum_k},
      {"cusum_h", "number",
       "CUSUM rule: fires when the summed excess passes this many noise units; 0 disables it",
       &d::cusum_h},
      {"rise_patience", "count", "rise-streak rule: rises in a row; 0 disables it",
       &d::rise_patience},
      {"patience", "count", "patience rule: evaluations without improvement; 0 disables it",
       &d::patience},
      {"gap_ratio_threshold", "number", "gap-ratio rule: (val - train) / train; 0 disables it",
       &d::gap_ratio_threshold},
      {"check_finite", "boolean", "a NaN/Inf loss is divergence", &d::check_finite},
      {"divergence_threshold", "number", "a loss above this is divergence",
       &d::divergence_threshold},
      {"stop_on_overfitting", "boolean", "should_stop() on overfitting, not only on divergence",
       &d::stop_on_overfitting},
  };
  return t;
}

const detector_option* detector_option_of(std::string_view name) {
  for (const auto& o : detector_option_table()) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

std::string detector_option_text(const detector_options& options, const detector_field& field) {
  return std::visit(
      [&](auto member) -> std::string {
        const auto& v = options.*member;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, double>) {
          if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
          char buf[detail::max_double_text];
          return std::string(buf, detail::format_double(buf, v));  // the shortest exact text
        } else if constexpr (std::is_same_v<T, std::size_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else {
          return v == direction::max ? "max" : "min";
        }
      },
      field);
}

std::map<std::string, std::string> detector_option_values(const detector_options& options) {
  std::map<std::string, std::string> out;
  for (const auto& o : detector_option_table()) {
    out[std::string(o.name)] = detector_option_text(options, o.member);
  }
  return out;
}

}  // namespace fitwatch
