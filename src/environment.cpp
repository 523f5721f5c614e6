// SageMaker's training environment variables:
// https://github.com/aws/sagemaker-training-toolkit/blob/master/ENVIRONMENT_VARIABLES.md
// A bring-your-own-container image gets none of the SM_* variables, only the
// files under /opt/ml/input/config, among them resourceconfig.json
// (current_host, hosts):
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "fitwatch/logger.hpp"
#include "fitwatch/settings.hpp"

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

}  // namespace fitwatch
