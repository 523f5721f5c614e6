// SageMaker's training environment variables:
// https://github.com/aws/sagemaker-training-toolkit/blob/master/ENVIRONMENT_VARIABLES.md
// A bring-your-own-container image gets none of the SM_* variables, only the
// files under /opt/ml/input/config, among them resourceconfig.json
// (current_host, hosts):
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
#include "fitwatch/sagemaker.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "option_text.hpp"

namespace fitwatch {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::vector<std::string> string_array(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

// The JSON object in a small regular file; a null json if it is missing,
// not a regular file, larger than 1 MiB or not an object (never throws,
// never blocks). Opened with O_NONBLOCK: opening a FIFO for reading would
// otherwise wait for a writer, and the logger's constructor with it (L4).
nlohmann::json read_small_json_object(const std::string& path) {
  constexpr std::size_t limit = 1 << 20;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return {};
  std::string text;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::size_t>(st.st_size) <= limit) {
    text.resize(limit + 1);
    std::size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n > 0) {
        got += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        if (n < 0) got = text.size();  // a read error: nothing is trusted
        break;
      }
    }
    text.resize(got <= limit ? got : 0);
  }
  ::close(fd);
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json();
}

}  // namespace

std::string sagemaker_config_dir() {
  const auto dir = env_or_empty("SM_INPUT_CONFIG_DIR");
  return dir.empty() ? std::string("/opt/ml/input/config") : dir;
}

bool sagemaker_environment::is_primary_host() const noexcept {
  return hosts.empty() || current_host.empty() || hosts.front() == current_host;
}

sagemaker_environment read_sagemaker_environment() {
  sagemaker_environment env;
  env.job_name = env_or_empty("TRAINING_JOB_NAME");
  env.current_host = env_or_empty("SM_CURRENT_HOST");
  const auto parse = [](const std::string& text) {
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  };
  if (const auto hosts = env_or_empty("SM_HOSTS"); !hosts.empty()) {
    env.hosts = string_array(parse(hosts));
  }
  if (const auto text = env_or_empty("SM_TRAINING_ENV"); !text.empty()) {
    const auto training = parse(text);
    if (training.is_object()) {
      const auto get = [&](const char* key) {
        const auto it = training.find(key);
        return it != training.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      if (env.job_name.empty()) env.job_name = get("job_name");
      if (env.current_host.empty()) env.current_host = get("current_host");
      if (env.hosts.empty() && training.contains("hosts")) {
        env.hosts = string_array(training["hosts"]);
      }
    }
  }
  if (env.current_host.empty() || env.hosts.empty()) {
    const auto config = read_small_json_object(sagemaker_config_dir() + "/resourceconfig.json");
    if (config.is_object()) {
      const auto it = config.find("current_host");
      if (env.current_host.empty() && it != config.end() && it->is_string()) {
        env.current_host = it->get<std::string>();
      }
      if (env.hosts.empty() && config.contains("hosts")) env.hosts = string_array(config["hosts"]);
    }
  }
  return env;
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

std::string hyperparameter_value(std::string_view raw, std::string_view key) {
  return detail::parse_json_quoted(raw, key);
}
bool parse_boolean(std::string_view text, std::string_view key) {
  return detail::parse_boolean(text, key);
}
double parse_number_or_infinity(std::string_view text, std::string_view key) {
  return detail::parse_number_or_infinity(text, key);
}
std::uint64_t parse_count(std::string_view text, std::string_view key) {
  return detail::parse_count(text, key);
}

write_ranks parse_write_ranks(std::string_view text, std::string_view key) {
  if (text == "0") return write_ranks::zero;
  if (text == "all") return write_ranks::all;
  detail::throw_bad_option(key, text, "not 0 or all");
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
      const auto n = detail::parse_count(text, name);
      if (n > static_cast<std::uint64_t>(std::numeric_limits<long>::max())) {
        detail::throw_bad_option(name, text, "too large");
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

std::optional<write_ranks> environment_write_ranks() {
  constexpr const char* variable = "FITWATCH_WRITE_RANKS";
  const char* v = std::getenv(variable);
  if (v == nullptr) return std::nullopt;
  try {
    return parse_write_ranks(detail::parse_json_quoted(v, variable), variable);
  } catch (const error& e) {
    detail::report(std::string(e.what()) + "; every rank writes metric lines");
    return write_ranks::all;
  }
}

bool environment_writes_metrics() {
  return environment_write_ranks().value_or(write_ranks::zero) == write_ranks::all ||
         read_process_rank().rank == 0;
}

}  // namespace fitwatch
