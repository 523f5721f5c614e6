// fitwatch: what SageMaker and torchrun tell a training process about itself.
//
// The training job and hosts (TRAINING_JOB_NAME, SM_* variables, else
// resourceconfig.json in the config folder), the config folder itself
// (/opt/ml/input/config, or SM_INPUT_CONFIG_DIR), the hyperparameters (its
// hyperparameters.json, values as text), the process's torchrun rank (RANK,
// LOCAL_RANK, WORLD_SIZE) and whether this process writes metric lines
// (FITWATCH_WRITE_RANKS and the rank). The logger reads the environment and
// the rank gate from here; settings.hpp builds on it.
// https://github.com/aws/sagemaker-training-toolkit/blob/master/ENVIRONMENT_VARIABLES.md
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
//
// \code
//   const auto hp = fitwatch::read_hyperparameters(fitwatch::sagemaker_config_dir() +
//                                                  "/hyperparameters.json");
//   const auto it = hp.find("epochs");
//   const auto epochs = it == hp.end() ? 10 : fitwatch::parse_count(
//       fitwatch::hyperparameter_value(it->second, it->first), it->first);
//   const bool writes_files = fitwatch::read_process_rank().rank == 0;
// \endcode
//
// Errors: the readers of the environment and of the rank never throw (a
// malformed variable is reported on stderr and read as unset); the parse_*
// functions and read_hyperparameters() throw fitwatch::error naming the key
// and the value, e.g. `fitwatch: setting epochs="ten": not a whole number >= 0`.
// Thread safety: none needed; read these once, at start-up.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fitwatch {

// ---- the training job ------------------------------------------------------

/// What SageMaker tells a training container about itself.
struct sagemaker_environment {
  std::string job_name;            ///< empty outside SageMaker
  std::string current_host;        ///< e.g. "algo-1"; empty outside SageMaker
  std::vector<std::string> hosts;  ///< every host of the job, in order

  /// True on the first host of a multi-host job, and outside SageMaker.
  bool is_primary_host() const noexcept;
};

/// Reads TRAINING_JOB_NAME, SM_CURRENT_HOST, SM_HOSTS and SM_TRAINING_ENV,
/// and for what they leave out, resourceconfig.json of sagemaker_config_dir()
/// (a bring-your-own-container image gets only the files). Never throws:
/// malformed JSON is ignored.
sagemaker_environment read_sagemaker_environment();

/// SageMaker's config folder: SM_INPUT_CONFIG_DIR, else /opt/ml/input/config.
std::string sagemaker_config_dir();

// ---- hyperparameters -------------------------------------------------------

/// Reads a hyperparameters.json (a JSON object of strings, as SageMaker
/// writes /opt/ml/input/config/hyperparameters.json); numbers and booleans
/// are kept as their JSON text. \throw error on a missing, oversized (over
/// 1 MiB) or malformed file, or a value that is an object, array or null.
std::map<std::string, std::string> read_hyperparameters(const std::string& path);

/// A hyperparameter's text as SageMaker delivers it -> its value: a value
/// the SDK JSON-quoted ("\"overfit\"") is decoded, any other is kept.
/// \throw error naming `key` on a malformed quoted value.
std::string hyperparameter_value(std::string_view raw, std::string_view key);
/// "True"/"true"/"1" and "False"/"false"/"0". \throw error naming `key`.
bool parse_boolean(std::string_view text, std::string_view key);
/// A finite number, or "inf"/"Infinity" for +infinity; no space, sign '+',
/// hex, NaN or out-of-range text. \throw error naming `key`.
double parse_number_or_infinity(std::string_view text, std::string_view key);
/// The former name of parse_number_or_infinity(), kept so that code calling
/// it compiles.
inline double parse_number(std::string_view text, std::string_view key) {
  return parse_number_or_infinity(text, key);
}
/// A whole number >= 0. \throw error naming `key`.
std::uint64_t parse_count(std::string_view text, std::string_view key);

// ---- the process's rank ----------------------------------------------------

/// Which processes of a distributed (torchrun) job write metric lines.
enum class write_ranks : std::uint8_t {
  zero,  ///< only global rank 0 (default)
  all,   ///< every rank
};

/// "0" -> write_ranks::zero, "all" -> write_ranks::all (after
/// hyperparameter_value()). \throw error naming `key` on anything else.
write_ranks parse_write_ranks(std::string_view text, std::string_view key);

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

/// FITWATCH_WRITE_RANKS read as the setting write_ranks; nullopt when unset.
/// Never throws: a bad value is reported on stderr and read as
/// write_ranks::all (the library's policy for a malformed rank variable is to
/// report and keep writing: a duplicate line is better than none; issue 25).
std::optional<write_ranks> environment_write_ranks();

/// Whether this process writes metric lines by the environment alone:
/// FITWATCH_WRITE_RANKS (only this variable) and read_process_rank(). The
/// gate of a logger left to its default output (stdout). Never throws (a bad
/// variable is reported, and the process writes).
bool environment_writes_metrics();

}  // namespace fitwatch
