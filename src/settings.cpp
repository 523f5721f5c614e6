#include "fitwatch/settings.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <variant>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"
#include "number_text.hpp"

namespace fitwatch {
namespace {

std::string quoted(std::string_view key, std::string_view value) {
  // Keys and values come from outside: cut them to a readable length.
  const auto cut = [](std::string_view t) {
    return t.size() > 200 ? std::string(t.substr(0, 200)) + "..." : std::string(t);
  };
  return "setting " + cut(key) + "=\"" + cut(value) + "\"";
}

[[noreturn]] void bad(std::string_view key, std::string_view value, const std::string& why) {
  throw error(quoted(key, value) + ": " + why);
}

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

std::string env_or_empty(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

std::string hyperparameter_value(std::string_view raw, std::string_view key) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::string(raw);
  const auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_string()) bad(key, raw, "malformed JSON-quoted value");
  return j.get<std::string>();
}

bool parse_boolean(std::string_view text, std::string_view key) {
  if (text == "True" || text == "true" || text == "1") return true;
  if (text == "False" || text == "false" || text == "0") return false;
  bad(key, text, "not a boolean (True, False, true, false, 1, 0)");
}

double parse_number(std::string_view text, std::string_view key) {
  if (text == "inf" || text == "Infinity") return std::numeric_limits<double>::infinity();
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = detail::parse_double(text.data(), end, v);  // std::from_chars
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) {
    bad(key, text, "not a number");
  }
  return v;
}

std::uint64_t parse_count(std::string_view text, std::string_view key) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    bad(key, text, "not a whole number >= 0");
  }
  return v;
}

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
  const std::string value = hyperparameter_value(raw, key);
  settings next = s;
  if (const auto* f = std::get_if<detector_field>(&e.where)) {
    std::visit(
        [&](auto member) {
          auto& v = next.detector.*member;
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            v = parse_number(value, key);
          } else if constexpr (std::is_same_v<T, std::size_t>) {
            const auto n = parse_count(value, key);
            if (n > std::numeric_limits<std::size_t>::max()) bad(key, value, "too large");
            v = static_cast<std::size_t>(n);
          } else if constexpr (std::is_same_v<T, bool>) {
            v = parse_boolean(value, key);
          } else if constexpr (std::is_same_v<T, std::string>) {
            v = value;
          } else if (value == "min") {
            v = direction::min;
          } else if (value == "max") {
            v = direction::max;
          } else {
            bad(key, value, "not min or max");
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
            next.*member = parse_boolean(value, key);
          } else if (value == "0") {
            next.*member = write_ranks::zero;
          } else if (value == "all") {
            next.*member = write_ranks::all;
          } else {
            bad(key, value, "not 0 or all");
          }
        },
        std::get<own_field>(e.where));
  }
  try {
    validate(next);
  } catch (const error& x) {
    bad(key, value, std::string(x.what()).substr(std::string_view("fitwatch: ").size()));
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

bool environment_writes_metrics() {
  settings s;
  apply_variable(s, "write_ranks");
  return s.writes_metrics(read_process_rank());
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

// A malformed variable is reported and read as unset (issue 25, M2): the
// process then counts as rank 0 and writes. -1, which launchers set for "not
// distributed", is unset too, without a report.
process_rank read_process_rank() {
  process_rank r;
  const auto read = [](const char* name, long& into) {
    const auto text = env_or_empty(name);
    if (text.empty() || text == "-1") return false;
    try {
      const auto n = parse_count(text, name);
      if (n > static_cast<std::uint64_t>(std::numeric_limits<long>::max())) {
        bad(name, text, "too large");
      }
      into = static_cast<long>(n);
      return true;
    } catch (const error& e) {
      detail::report(std::string(e.what()) + "; read as unset");
      return false;
    }
  };
  read("RANK", r.rank);
  read("LOCAL_RANK", r.local_rank);
  if (read("WORLD_SIZE", r.world_size) && r.world_size == 0) {
    detail::report("fitwatch: WORLD_SIZE=0: must be >= 1; read as unset");
    r.world_size = 1;
  }
  if (r.rank >= r.world_size) {
    detail::report("fitwatch: RANK=" + std::to_string(r.rank) + ": not below WORLD_SIZE " +
                   std::to_string(r.world_size) + "; this process is taken as rank 0 of 1");
    r = process_rank{};
  }
  return r;
}

std::map<std::string, std::string> read_hyperparameters(const std::string& path) {
  constexpr std::streamoff limit = 1 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error("cannot open hyperparameters file " + path);
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size > limit) {
    throw error("hyperparameters file " + path + " is larger than 1 MiB");
  }
  in.seekg(0);
  std::string text(static_cast<std::size_t>(std::max<std::streamoff>(size, 0)), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw error("hyperparameters file " + path + ": not a JSON object");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      out[key] = value.dump();
    } else {
      throw error("hyperparameters file " + path + ": the value of " + key.substr(0, 200) +
                  " is not a string");
    }
  }
  return out;
}

}  // namespace fitwatch
