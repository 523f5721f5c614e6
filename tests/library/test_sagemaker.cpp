// What SageMaker and torchrun tell the process (fitwatch/sagemaker.hpp): the
// host from resourceconfig.json, hyperparameters.json, and the rank gate of a
// logger left to its default output. No settings: sagemaker.hpp sits below
// them (docs/architecture.md, "The library's layers").
#include "fitwatch/sagemaker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "fitwatch/logger.hpp"
#include "fitwatch/monitor.hpp"
#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using fitwatch::test::error_of;
using fitwatch::test::scoped_env;

namespace {

// What a plain `fitwatch::logger log;` (default output: stdout) writes for
// one evaluation, with fd 1 sent to a file meanwhile.
std::string stdout_of_default_logger() {
  const fitwatch::test::temp_dir dir;
  const auto path = dir.file("stdout");
  std::fflush(stdout);
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(file >= 0);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(file, STDOUT_FILENO);
  {
    fitwatch::logger log;
    fitwatch::monitor mon{log};
    mon.observe(1, {0.5, 0.6});
  }  // the destructor writes what is queued
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(file);
  return fitwatch::test::slurp(path);
}

}  // namespace

TEST_CASE("a default logger on torchrun rank 1 writes nothing unless FITWATCH_WRITE_RANKS=all") {
  CHECK_FALSE(stdout_of_default_logger().empty());  // outside torchrun: writes
  const scoped_env env{{{"RANK", "1"}, {"WORLD_SIZE", "2"}}};
  CHECK(stdout_of_default_logger().empty());
  {
    const scoped_env all{{{"FITWATCH_WRITE_RANKS", "all"}}};
    const auto out = stdout_of_default_logger();
    REQUIRE_FALSE(out.empty());
    CHECK(nlohmann::json::parse(out.substr(0, out.find('\n')))["ValidationLoss"] == 0.6);
  }
  {
    const scoped_env zero{{{"RANK", "0"}}};
    CHECK_FALSE(stdout_of_default_logger().empty());
  }
  {
    // A bad variable is reported, and the process writes (never throws).
    const scoped_env bad{{{"FITWATCH_WRITE_RANKS", "some"}}};
    CHECK_FALSE(stdout_of_default_logger().empty());
  }
}

TEST_CASE("without SM_* variables the host comes from resourceconfig.json") {
  const fitwatch::test::temp_dir dir;
  const scoped_env env{{{"SM_INPUT_CONFIG_DIR", dir.path().string()}}};
  ::unsetenv("SM_CURRENT_HOST");
  ::unsetenv("SM_HOSTS");
  ::unsetenv("SM_TRAINING_ENV");
  SUBCASE("the second host is not the primary") {
    std::ofstream(dir.file("resourceconfig.json"))
        << R"({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"],
               "network_interface_name": "eth0"})";
    const auto e = fitwatch::read_sagemaker_environment();
    CHECK(e.current_host == "algo-2");
    CHECK(e.hosts == std::vector<std::string>{"algo-1", "algo-2"});
    CHECK_FALSE(e.is_primary_host());
  }
  SUBCASE("SM_CURRENT_HOST wins over the file") {
    std::ofstream(dir.file("resourceconfig.json"))
        << R"({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]})";
    const scoped_env sm{{{"SM_CURRENT_HOST", "algo-1"}}};
    const auto e = fitwatch::read_sagemaker_environment();
    CHECK(e.current_host == "algo-1");
    CHECK(e.is_primary_host());
  }
  SUBCASE("a hostile file is ignored, never thrown") {
    for (const std::string& text :
         {std::string("not json"), std::string("[1,2]"), std::string(R"({"current_host": 7})"),
          std::string(2 << 20, '{')}) {
      std::ofstream(dir.file("resourceconfig.json")) << text;
      const auto e = fitwatch::read_sagemaker_environment();
      CHECK(e.current_host.empty());
      CHECK(e.is_primary_host());
    }
  }
}

TEST_CASE("hyperparameters.json: strings kept, hostile files rejected with a reason") {
  const fitwatch::test::temp_dir dir;
  const auto path = dir.file("hyperparameters.json");
  std::ofstream(path) << R"({"epochs": "3", "no_stop": "True", "preset": "\"overfit\"", "n": 4})";
  const auto h = fitwatch::read_hyperparameters(path);
  CHECK(h.at("epochs") == "3");
  CHECK(h.at("no_stop") == "True");
  CHECK(fitwatch::hyperparameter_value(h.at("preset"), "preset") == "overfit");
  CHECK(h.at("n") == "4");
  std::ofstream(path) << R"({"a": {"b": 1}})";
  CHECK(error_of([&] {
          fitwatch::read_hyperparameters(path);
        }).find("the value of a is not a string") != std::string::npos);
  std::ofstream(path) << "[]";
  CHECK(error_of([&] { fitwatch::read_hyperparameters(path); }).find("not a JSON object") !=
        std::string::npos);
  std::ofstream(path) << std::string(2 << 20, ' ');
  CHECK(error_of([&] { fitwatch::read_hyperparameters(path); }).find("larger than 1 MiB") !=
        std::string::npos);
  CHECK(error_of([&] {
          fitwatch::read_hyperparameters(dir.file("missing.json"));
        }).find("cannot open") != std::string::npos);
}

TEST_CASE("environment_writes_metrics: FITWATCH_WRITE_RANKS read as the setting reads it") {
  SUBCASE("outside torchrun every process writes") {
    CHECK(fitwatch::environment_writes_metrics());
  }
  SUBCASE("rank 1 of 2 does not, unless all, JSON-quoted or not") {
    const scoped_env env{{{"RANK", "1"}, {"WORLD_SIZE", "2"}}};
    CHECK_FALSE(fitwatch::environment_writes_metrics());
    {
      const scoped_env all{{{"FITWATCH_WRITE_RANKS", "all"}}};
      CHECK(fitwatch::environment_writes_metrics());
    }
    {
      const scoped_env quoted{{{"FITWATCH_WRITE_RANKS", "\"all\""}}};
      CHECK(fitwatch::environment_writes_metrics());
    }
    {
      const scoped_env zero{{{"FITWATCH_WRITE_RANKS", "0"}}};
      CHECK_FALSE(fitwatch::environment_writes_metrics());
    }
  }
  SUBCASE("a bad value is reported word for word, and the process writes") {
    const scoped_env env{{{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"FITWATCH_WRITE_RANKS", "\"all"}}};
    fitwatch::test::capture_reports reports;
    CHECK(fitwatch::environment_writes_metrics());
    const auto m = reports.all();
    REQUIRE(m.size() == 1);
    CHECK(m[0] ==
          "fitwatch: setting FITWATCH_WRITE_RANKS=\"\"all\": not 0 or all; every rank writes "
          "metric lines");
  }
}

TEST_CASE("sagemaker_config_dir: SM_INPUT_CONFIG_DIR, else /opt/ml/input/config") {
  ::unsetenv("SM_INPUT_CONFIG_DIR");
  CHECK(fitwatch::sagemaker_config_dir() == "/opt/ml/input/config");
  const scoped_env env{{{"SM_INPUT_CONFIG_DIR", "/tmp/config"}}};
  CHECK(fitwatch::sagemaker_config_dir() == "/tmp/config");
}
