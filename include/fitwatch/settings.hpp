// fitwatch: settings from hyperparameters and environment variables.
//
// One naming rule for every front end (the C++ library, `fitwatch emit`, the
// Python package, the SageMaker entry point): a setting `smoothing` is the
// hyperparameter `fitwatch_smoothing` and the environment variable
// `FITWATCH_SMOOTHING`. Values are text, as SageMaker writes hyperparameters
// (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html):
// numbers as text, booleans as "True"/"False" (Python's str()) or
// "true"/"false", and any value may be JSON-quoted ("\"0.5\""), as the
// SageMaker Python SDK's framework estimators write them. The table of every
// setting is docs/settings.md; a test checks it against setting_specs().
//
// \code
//   fitwatch::settings s = fitwatch::read_settings();   // FITWATCH_* variables
//   fitwatch::apply_hyperparameters(s, {{"fitwatch_smoothing", "0.5"}});
//   fitwatch::logger log{s.logger_options_for(fitwatch::read_process_rank())};
//   fitwatch::monitor mon{log, s.detector};
// \endcode
//
// Errors: every function that parses throws fitwatch::error naming the key
// and the value, e.g. `fitwatch: setting fitwatch_smoothing="abc": not a number`.
// Thread safety: none needed; read the settings once, at start-up.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fitwatch/detector.hpp"
#include "fitwatch/logger.hpp"

namespace fitwatch {

/// The prefix of a setting as a hyperparameter and as an environment variable.
inline constexpr std::string_view hyperparameter_prefix = "fitwatch_";
inline constexpr std::string_view environment_prefix = "FITWATCH_";

/// Which processes of a distributed (torchrun) job write metric lines.
enum class write_ranks : std::uint8_t {
  zero,  ///< only global rank 0 (default)
  all,   ///< every rank
};

/// The process's place in a torchrun job (RANK, LOCAL_RANK, WORLD_SIZE);
/// rank 0 of 1 outside one.
struct process_rank {
  long rank = 0;
  long local_rank = 0;
  long world_size = 1;
};

/// Reads RANK, LOCAL_RANK and WORLD_SIZE (set by torchrun,
/// https://pytorch.org/docs/stable/elastic/run.html). Never throws: a
/// variable that is not a whole number (or not in range, 0 <= rank < world
/// size) is reported on stderr and read as unset, so the process counts as
/// rank 0 and writes; -1 ("not distributed" to some launchers) is unset.
process_rank read_process_rank();

/// Everything a front end can set; defaults are the library's defaults.
struct settings {
  detector_options detector;
  std::string namespace_name{default_namespace};
  /// TrainingJobName outside SageMaker (TRAINING_JOB_NAME wins inside it).
  std::string job_name;
  bool default_dimensions = true;
  write_ranks ranks = write_ranks::zero;

  /// True if a process of this rank writes metric lines.
  bool writes_metrics(const process_rank& r) const noexcept {
    return ranks == write_ranks::all || r.rank == 0;
  }
  /// Logger options with these settings; a process that must not write
  /// (writes_metrics() false) gets a sink that discards every line, so its
  /// detector still runs and its loop still sees should_stop(); one that
  /// must gets stdout_sink() (whatever FITWATCH_WRITE_RANKS says).
  logger_options logger_options_for(const process_rank& r) const;
};

/// One setting: its name (without prefix), what it takes, what it does.
struct setting_spec {
  std::string_view name;
  std::string_view type;  ///< "number", "count", "boolean", "text" or a list of choices
  std::string_view description;
};

/// Every setting, in the order of docs/settings.md.
const std::vector<setting_spec>& setting_specs();

/// `fitwatch_smoothing` -> `smoothing`; empty if `key` lacks the prefix.
std::string setting_name_of_hyperparameter(std::string_view key);
/// `smoothing` -> `FITWATCH_SMOOTHING`.
std::string environment_variable_of(std::string_view name);

/// Sets one setting by name (`smoothing`) from text. `key` is how the caller
/// names it in errors (the hyperparameter, the variable or the flag).
/// \throw error on an unknown name or a malformed or out-of-range value.
void apply_setting(settings& s, std::string_view name, std::string_view value,
                   std::string_view key = {});
/// The current value of a setting as text that apply_setting() reads back.
/// \throw error on an unknown name.
std::string setting_value(const settings& s, std::string_view name);

/// Applies every `fitwatch_*` key of a hyperparameter map; other keys are
/// left to the caller. \throw error on an unknown `fitwatch_*` key or a bad value.
void apply_hyperparameters(settings& s, const std::map<std::string, std::string>& hyperparameters);
/// Applies every FITWATCH_<NAME> variable that names a setting (other
/// FITWATCH_* variables are not settings and are ignored). \throw error on a
/// bad value, except FITWATCH_WRITE_RANKS: a bad one is reported and every
/// rank writes.
void apply_environment(settings& s);
/// Defaults, then the environment.
settings read_settings();
/// Whether this process writes metric lines by the environment alone:
/// FITWATCH_WRITE_RANKS (only this variable) and read_process_rank(). The
/// gate of a logger left to its default output (stdout). Never throws (a bad
/// variable is reported, and the process writes).
bool environment_writes_metrics();

/// A hyperparameter's text as SageMaker delivers it -> its value: a value
/// the SDK JSON-quoted ("\"overfit\"") is decoded, any other is kept.
/// \throw error naming `key` on a malformed quoted value.
std::string hyperparameter_value(std::string_view raw, std::string_view key);
/// "True"/"true"/"1" and "False"/"false"/"0". \throw error naming `key`.
bool parse_boolean(std::string_view text, std::string_view key);
/// A finite number, or "inf"/"Infinity". \throw error naming `key`.
double parse_number(std::string_view text, std::string_view key);
/// A whole number >= 0. \throw error naming `key`.
std::uint64_t parse_count(std::string_view text, std::string_view key);

/// Reads a hyperparameters.json (a JSON object of strings, as SageMaker
/// writes /opt/ml/input/config/hyperparameters.json); numbers and booleans
/// are kept as their JSON text. \throw error on a missing, oversized (over
/// 1 MiB) or malformed file, or a value that is an object, array or null.
std::map<std::string, std::string> read_hyperparameters(const std::string& path);

/// The member the setting `name` sets in detector_options; nullopt for a
/// setting of the logger (namespace, job_name, ...) or an unknown name. For
/// front ends that bind the options field by field (the Python package).
std::optional<detector_field> detector_field_of(std::string_view name);

/// SageMaker's config folder: SM_INPUT_CONFIG_DIR, else /opt/ml/input/config.
std::string sagemaker_config_dir();

/// Checks a whole settings object as the detector and logger would
/// (constructs neither). \throw error naming the setting.
void validate(const settings& s);

}  // namespace fitwatch
