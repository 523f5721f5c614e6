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
// What SageMaker and torchrun tell the process (the environment, the config
// folder, hyperparameters.json, the rank, and the parsers of a
// hyperparameter's text) is fitwatch/sagemaker.hpp, which this header
// includes; settings sit on top of it, the logger and the detector.
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
#include "fitwatch/sagemaker.hpp"

namespace fitwatch {

/// The prefix of a setting as a hyperparameter and as an environment variable.
inline constexpr std::string_view hyperparameter_prefix = "fitwatch_";
inline constexpr std::string_view environment_prefix = "FITWATCH_";

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

/// The member the setting `name` sets in detector_options; nullopt for a
/// setting of the logger (namespace, job_name, ...) or an unknown name. For
/// front ends that bind the options field by field (the Python package).
std::optional<detector_field> detector_field_of(std::string_view name);

/// Checks a whole settings object as the detector and logger would
/// (constructs neither). \throw error naming the setting.
void validate(const settings& s);

}  // namespace fitwatch
