// SageMaker's training environment variables:
// https://github.com/aws/sagemaker-training-toolkit/blob/master/ENVIRONMENT_VARIABLES.md
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "fitwatch/logger.hpp"

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

}  // namespace

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
  return env;
}

}  // namespace fitwatch
