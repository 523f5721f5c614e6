#include "fitwatch/settings.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <variant>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"
#include "number_text.hpp"
#include "option_text.hpp"

namespace fitwatch {
namespace {

// How one setting is read and written: a member of the detector's options
// or of the settings themselves.
using field = std::variant<double detector_options::*, std::size_t detector_options::*,
                           bool detector_options::*, std::string detector_options::*,
                           direction detector_options::*, std::string settings::*, bool settings::*,
                           write_ranks settings::*>;

// The members that are the detector's options (saved with its state).
template <class M>
constexpr bool of_detector_v = std::is_same_v<M, double detector_options::*> ||
                               std::is_same_v<M, std::size_t detector_options::*> ||
                               std::is_same_v<M, bool detector_options::*> ||
                               std::is_same_v<M, std::string detector_options::*> ||
                               std::is_same_v<M, direction detector_options::*>;

struct entry {
  setting_spec spec;
  field where;
};

// The one table. Its order is docs/settings.md's; a test checks the doc.
const std::vector<entry>& table() {
  using d = detector_options;
  using s = settings;
  static const std::vector<entry> t = {
      {{"monitor", "text",
        "the validation metric the rules read (its name in the EMF lines); ValidationLoss is the "
        "validation loss"},
       &d::monitor},
      {{"mode", "min or max", "min: lower values of the monitored metric are better; max: higher"},
       &d::mode},
      {{"min_delta", "number", "a change smaller than this is neither an improvement nor a rise"},
       &d::min_delta},
      {{"warmup", "count", "evaluations ignored by every rule"}, &d::warmup},
      {{"smoothing", "number", "EMA weight of the newest validation loss, in (0, 1]; 1 = raw"},
       &d::smoothing},
      {{"gl_threshold", "number", "GL rule: percent above the best; 0 disables it"},
       &d::gl_threshold},
      {{"gl_confirm", "count", "GL rule: evaluations in a row"}, &d::gl_confirm},
      {{"gl_min_since_best", "count", "GL rule: evaluations after the best"},
       &d::gl_min_since_best},
      {{"gl_noise_units", "number", "GL rule: noise units above the best; 0 = percent only"},
       &d::gl_noise_units},
      {{"jump_sigmas", "number", "jump rule: noise units above the best; 0 disables it"},
       &d::jump_sigmas},
      {{"trend_window", "count", "trend rule: evaluations (0 or 3 to 16); 0 disables it"},
       &d::trend_window},
      {{"trend_t", "number", "trend rule: t statistic of the slope"}, &d::trend_t},
      {{"trend_min_gl", "number", "trend rule: percent above the best"}, &d::trend_min_gl},
      {{"train_falling_t", "number",
        "GL, jump and trend fire only while the training loss falls this many standard errors; 0 "
        "disables the condition"},
       &d::train_falling_t},
      {{"train_window", "count", "training losses the slope reads at least (3 to 16)"},
       &d::train_window},
      {{"strong_rise_units", "number",
        "GL, jump and trend also fire, whatever the training loss does, this many noise units "
        "above the best; 0 = never"},
       &d::strong_rise_units},
      {{"strong_rise_confirm", "count", "...for this many evaluations in a row (at least 1)"},
       &d::strong_rise_confirm},
      {{"window_size", "count", "window rule: evaluations per mean (0 to 16); 0 disables it"},
       &d::window_size},
      {{"window_units", "number",
        "window rule: noise units of a mean above the lowest mean so far"},
       &d::window_units},
      {{"rise_patience", "count", "rise-streak rule: rises in a row; 0 disables it"},
       &d::rise_patience},
      {{"patience", "count", "patience rule: evaluations without improvement; 0 disables it"},
       &d::patience},
      {{"gap_ratio_threshold", "number", "gap-ratio rule: (val - train) / train; 0 disables it"},
       &d::gap_ratio_threshold},
      {{"check_finite", "boolean", "a NaN/Inf loss is divergence"}, &d::check_finite},
      {{"divergence_threshold", "number", "a loss above this is divergence"},
       &d::divergence_threshold},
      {{"stop_on_overfitting", "boolean", "should_stop() on overfitting, not only on divergence"},
       &d::stop_on_overfitting},
      {{"namespace", "text", "CloudWatch metric namespace"}, &s::namespace_name},
      {{"job_name", "text", "TrainingJobName outside SageMaker (TRAINING_JOB_NAME wins)"},
       &s::job_name},
      {{"default_dimensions", "boolean", "the dimension set [TrainingJobName] and property Host"},
       &s::default_dimensions},
      {{"write_ranks", "0 or all",
        "which torchrun ranks write metric lines: global rank 0, or all"},
       &s::ranks},
  };
  return t;
}

const entry& find(std::string_view name, std::string_view key) {
  for (const auto& e : table()) {
    if (e.spec.name == name) return e;
  }
  throw error("unknown setting " + std::string(key.substr(0, 200)) +
              " (docs/settings.md lists them)");
}

std::string number_text(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[detail::max_double_text];
  return std::string(buf, detail::format_double(buf, v));  // the shortest exact text
}

}  // namespace

const std::vector<setting_spec>& setting_specs() {
  static const std::vector<setting_spec> specs = [] {
    std::vector<setting_spec> out;
    for (const auto& e : table()) out.push_back(e.spec);
    return out;
  }();
  return specs;
}

std::string setting_name_of_hyperparameter(std::string_view key) {
  if (key.size() <= hyperparameter_prefix.size() ||
      key.substr(0, hyperparameter_prefix.size()) != hyperparameter_prefix) {
    return {};
  }
  return std::string(key.substr(hyperparameter_prefix.size()));
}

std::string environment_variable_of(std::string_view name) {
  std::string out(environment_prefix);
  for (const char c : name) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void apply_setting(settings& s, std::string_view name, std::string_view raw, std::string_view key) {
  if (key.empty()) key = name;
  const auto& e = find(name, key);
  const std::string value = detail::parse_json_quoted(raw, key);
  settings next = s;
  std::visit(
      [&](auto member) {
        using m = decltype(member);
        if constexpr (std::is_same_v<m, double detector_options::*>) {
          next.detector.*member = detail::parse_number_or_infinity(value, key);
        } else if constexpr (std::is_same_v<m, std::size_t detector_options::*>) {
          const auto n = detail::parse_count(value, key);
          if (n > std::numeric_limits<std::size_t>::max())
            detail::throw_bad_option(key, value, "too large");
          next.detector.*member = static_cast<std::size_t>(n);
        } else if constexpr (std::is_same_v<m, bool detector_options::*>) {
          next.detector.*member = detail::parse_boolean(value, key);
        } else if constexpr (std::is_same_v<m, std::string detector_options::*>) {
          next.detector.*member = value;
        } else if constexpr (std::is_same_v<m, direction detector_options::*>) {
          if (value == "min") {
            next.detector.*member = direction::min;
          } else if (value == "max") {
            next.detector.*member = direction::max;
          } else {
            detail::throw_bad_option(key, value, "not min or max");
          }
        } else if constexpr (std::is_same_v<m, std::string settings::*>) {
          next.*member = value;
        } else if constexpr (std::is_same_v<m, bool settings::*>) {
          next.*member = detail::parse_boolean(value, key);
        } else {
          next.*member = parse_write_ranks(value, key);
        }
      },
      e.where);
  try {
    validate(next);
  } catch (const error& x) {
    detail::throw_bad_option(key, value,
                             std::string(x.what()).substr(std::string_view("fitwatch: ").size()));
  }
  s = std::move(next);
}

std::string setting_value(const settings& s, std::string_view name) {
  const auto& e = find(name, name);
  return std::visit(
      [&](auto member) -> std::string {
        using m = decltype(member);
        if constexpr (std::is_same_v<m, double detector_options::*>) {
          return number_text(s.detector.*member);
        } else if constexpr (std::is_same_v<m, std::size_t detector_options::*>) {
          return std::to_string(s.detector.*member);
        } else if constexpr (std::is_same_v<m, bool detector_options::*>) {
          return s.detector.*member ? "true" : "false";
        } else if constexpr (std::is_same_v<m, std::string detector_options::*>) {
          return s.detector.*member;
        } else if constexpr (std::is_same_v<m, direction detector_options::*>) {
          return s.detector.*member == direction::max ? "max" : "min";
        } else if constexpr (std::is_same_v<m, std::string settings::*>) {
          return s.*member;
        } else if constexpr (std::is_same_v<m, bool settings::*>) {
          return s.*member ? "true" : "false";
        } else {
          return s.*member == write_ranks::all ? "all" : "0";
        }
      },
      e.where);
}

std::optional<detector_field> detector_field_of(std::string_view name) {
  for (const auto& e : table()) {
    if (e.spec.name != name) continue;
    return std::visit(
        [](auto member) -> std::optional<detector_field> {
          if constexpr (of_detector_v<decltype(member)>) {
            return member;
          } else {
            return std::nullopt;
          }
        },
        e.where);
  }
  return std::nullopt;
}

std::map<std::string, std::string> detector_option_values(const detector_options& options) {
  settings s;
  s.detector = options;
  std::map<std::string, std::string> out;
  for (const auto& e : table()) {
    const bool of_detector =
        std::visit([](auto member) { return of_detector_v<decltype(member)>; }, e.where);
    if (of_detector) out[std::string(e.spec.name)] = setting_value(s, e.spec.name);
  }
  return out;
}

void apply_hyperparameters(settings& s, const std::map<std::string, std::string>& hyperparameters) {
  for (const auto& [key, value] : hyperparameters) {
    const auto name = setting_name_of_hyperparameter(key);
    if (!name.empty()) apply_setting(s, name, value, key);
  }
}

namespace {
// Applies FITWATCH_<NAME> if it is set. A bad FITWATCH_WRITE_RANKS is
// reported and every rank writes: it gates output, and the library's policy
// for a malformed rank variable is to report and keep writing (a duplicate
// line is better than none; issue 25, M2).
void apply_variable(settings& s, std::string_view name) {
  const auto variable = environment_variable_of(name);
  const char* v = std::getenv(variable.c_str());
  if (v == nullptr) return;
  if (name != "write_ranks") {
    apply_setting(s, name, v, variable);
    return;
  }
  try {
    apply_setting(s, name, v, variable);
  } catch (const error& e) {
    detail::report(std::string(e.what()) + "; every rank writes metric lines");
    s.ranks = write_ranks::all;
  }
}
}  // namespace

void apply_environment(settings& s) {
  for (const auto& e : table()) apply_variable(s, e.spec.name);
}

settings read_settings() {
  settings s;
  apply_environment(s);
  return s;
}

void validate(const settings& s) {
  const detector check{s.detector};  // throws on invalid options
  (void)check;
  check_monitor_name(s.detector.monitor);  // a name the monitor can write
  record probe{s.namespace_name};          // throws on an invalid namespace
  (void)probe;
}

logger_options settings::logger_options_for(const process_rank& r) const {
  logger_options o;
  o.namespace_name = namespace_name;
  o.job_name = job_name;
  o.default_dimensions = default_dimensions;
  // Set either way: a logger left to its default output would apply the
  // environment's gate (FITWATCH_WRITE_RANKS), not these settings'.
  o.output =
      writes_metrics(r) ? std::shared_ptr<sink>(stdout_sink()) : std::make_shared<discard_sink>();
  return o;
}

}  // namespace fitwatch
