#include "fitwatch/settings.hpp"

#include <cctype>
#include <cstdlib>
#include <limits>
#include <variant>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"
#include "option_text.hpp"

namespace fitwatch {
namespace {

// How one of the settings' own members (not the detector's) is read and written.
using own_field = std::variant<std::string settings::*, bool settings::*, write_ranks settings::*>;

// A setting: one of the detector's options (the detector's table) or a member
// of the settings themselves.
struct entry {
  setting_spec spec;
  std::variant<detector_field, own_field> where;
};

// The one table: the detector's options, in the detector's order, then the
// logger's. Its order is docs/settings.md's; a test checks the doc.
const std::vector<entry>& table() {
  using s = settings;
  static const std::vector<entry> t = [] {
    std::vector<entry> out;
    for (const auto& o : detector_option_table()) {
      out.push_back({{o.name, o.type, o.description}, o.member});
    }
    const entry own[] = {
        {{"namespace", "text", "CloudWatch metric namespace"}, own_field{&s::namespace_name}},
        {{"job_name", "text", "TrainingJobName outside SageMaker (TRAINING_JOB_NAME wins)"},
         own_field{&s::job_name}},
        {{"default_dimensions", "boolean", "the dimension set [TrainingJobName] and property Host"},
         own_field{&s::default_dimensions}},
        {{"write_ranks", "0 or all",
          "which torchrun ranks write metric lines: global rank 0, or all"},
         own_field{&s::ranks}},
    };
    out.insert(out.end(), std::begin(own), std::end(own));
    return out;
  }();
  return t;
}

const entry& find(std::string_view name, std::string_view key) {
  for (const auto& e : table()) {
    if (e.spec.name == name) return e;
  }
  throw error("unknown setting " + std::string(key.substr(0, 200)) +
              " (docs/settings.md lists them)");
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
  if (const auto* f = std::get_if<detector_field>(&e.where)) {
    std::visit(
        [&](auto member) {
          auto& v = next.detector.*member;
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            v = detail::parse_number_or_infinity(value, key);
          } else if constexpr (std::is_same_v<T, std::size_t>) {
            const auto n = detail::parse_count(value, key);
            if (n > std::numeric_limits<std::size_t>::max())
              detail::throw_bad_option(key, value, "too large");
            v = static_cast<std::size_t>(n);
          } else if constexpr (std::is_same_v<T, bool>) {
            v = detail::parse_boolean(value, key);
          } else if constexpr (std::is_same_v<T, std::string>) {
            v = value;
          } else if (value == "min") {
            v = direction::min;
          } else if (value == "max") {
            v = direction::max;
          } else {
            detail::throw_bad_option(key, value, "not min or max");
          }
        },
        *f);
  } else {
    std::visit(
        [&](auto member) {
          using m = decltype(member);
          if constexpr (std::is_same_v<m, std::string settings::*>) {
            next.*member = value;
          } else if constexpr (std::is_same_v<m, bool settings::*>) {
            next.*member = detail::parse_boolean(value, key);
          } else {
            next.*member = parse_write_ranks(value, key);
          }
        },
        std::get<own_field>(e.where));
  }
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
  if (const auto* f = std::get_if<detector_field>(&e.where)) {
    return detector_option_text(s.detector, *f);
  }
  return std::visit(
      [&](auto member) -> std::string {
        using m = decltype(member);
        if constexpr (std::is_same_v<m, std::string settings::*>) {
          return s.*member;
        } else if constexpr (std::is_same_v<m, bool settings::*>) {
          return s.*member ? "true" : "false";
        } else {
          return s.*member == write_ranks::all ? "all" : "0";
        }
      },
      std::get<own_field>(e.where));
}

std::optional<detector_field> detector_field_of(std::string_view name) {
  if (const auto* o = detector_option_of(name)) return o->member;
  return std::nullopt;
}

void apply_hyperparameters(settings& s, const std::map<std::string, std::string>& hyperparameters) {
  for (const auto& [key, value] : hyperparameters) {
    const auto name = setting_name_of_hyperparameter(key);
    if (!name.empty()) apply_setting(s, name, value, key);
  }
}

namespace {
// Applies FITWATCH_<NAME> if it is set. FITWATCH_WRITE_RANKS is read as the
// environment's gate reads it (sagemaker.hpp): a bad value is reported and
// every rank writes.
void apply_variable(settings& s, std::string_view name) {
  if (name == "write_ranks") {
    if (const auto ranks = environment_write_ranks()) s.ranks = *ranks;
    return;
  }
  const auto variable = environment_variable_of(name);
  if (const char* v = std::getenv(variable.c_str()); v != nullptr)
    apply_setting(s, name, v, variable);
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
