// The training image's entry point (examples/sagemaker/train) against
// SageMaker's container contract, with the files SageMaker would mount in a
// fake /opt/ml tree (docker cannot run here):
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fitwatch/monitor.hpp"
#include "run_command.hpp"
#include "support.hpp"

#ifndef FITWATCH_EXAMPLE
#error "FITWATCH_EXAMPLE must name the example binary"
#endif

using fitwatch::test::command_result;
using fitwatch::test::lines_of;
using fitwatch::test::run_command;
using fitwatch::test::slurp;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string dataset = "/usr/share/datasets/fashion-mnist";

// /opt/ml under a temporary folder: config, the training channel (links to
// the Debian dataset), model, output and checkpoints.
struct fake_opt_ml {
  fitwatch::test::temp_dir dir;
  fake_opt_ml() {
    fs::create_directories(path("input/config"));
    fs::create_directories(path("input/data/training"));
    for (const auto& f : fs::directory_iterator(dataset)) {
      fs::create_symlink(f.path(), path("input/data/training") / f.path().filename());
    }
  }
  fs::path path(const std::string& p) const { return dir.path() / p; }
  void hyperparameters(const json& h) const {
    std::ofstream(path("input/config/hyperparameters.json")) << h.dump();
  }
  command_result run(const std::string& env = "") const {
    const std::string example_dir = fs::path(FITWATCH_EXAMPLE).parent_path().string();
    return run_command("env PATH=" + example_dir + ":\"$PATH\" TRAINING_JOB_NAME=sm-job" +
                       " SM_INPUT_CONFIG_DIR=" + path("input/config").string() +
                       " SM_CHANNEL_TRAINING=" + path("input/data/training").string() +
                       " SM_MODEL_DIR=" + path("model").string() +
                       " SM_OUTPUT_DIR=" + path("output").string() + " " + env + " bash " +
                       FITWATCH_SOURCE_DIR + "/examples/sagemaker/train");
  }
  std::string failure() const { return slurp(path("output/failure").string()); }
};

// A short run, with every value as the SageMaker Python SDK writes it.
json short_run() {
  return {{"preset", "\"overfit\""},  // a framework estimator JSON-quotes strings
          {"epochs", "3"},
          {"train_size", "300"},
          {"val_size", "300"},
          {"test_size", "300"},
          {"threads", "2"},
          {"no_stop", "True"},  // str(True)
          {"log_steps", "False"},
          {"fitwatch_namespace", "\"Team/Fashion\""},
          {"fitwatch_smoothing", "0.5"}};
}

std::vector<json> events_of(const std::string& out) {
  std::vector<json> events;
  for (const auto& l : lines_of(out)) events.push_back(fitwatch::test::parse_emf(l));
  return events;
}

}  // namespace

TEST_CASE("the entry point takes SDK-style hyperparameters and saves the best weights") {
  const fake_opt_ml ml;
  ml.hyperparameters(short_run());
  const auto r = ml.run();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto events = events_of(r.out);
  REQUIRE(events.size() == 3);
  for (const auto& e : events) {
    CHECK(e["TrainingJobName"] == "sm-job");
    CHECK(e["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Team/Fashion");  // fitwatch_namespace
  }
  CHECK(fs::file_size(ml.path("model/model.pt")) > 0);
  CHECK(lines_of(slurp(ml.path("model/curves.csv").string())).size() == 4);
  CHECK_FALSE(fs::exists(ml.path("output/failure")));
}

TEST_CASE("the data comes from the training channel") {
  const fake_opt_ml ml;
  ml.hyperparameters(short_run());
  for (const auto& f : fs::directory_iterator(ml.path("input/data/training"))) fs::remove(f.path());
  const auto r = ml.run();
  CHECK(r.exit_code != 0);
  CHECK(ml.failure() ==
        "cannot open " + ml.path("input/data/training").string() + "/train-images-idx3-ubyte.gz\n");
}

TEST_CASE("a bad hyperparameter: the reason in the failure file, a non-zero exit, no training") {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"fitwatch_smoothnig", "0.5"}},
       "hyperparameters: unknown setting fitwatch_smoothnig (docs/settings.md lists them)\n"},
      {{{"fitwatch_smoothing", "\"1.5\""}},
       "hyperparameters: setting fitwatch_smoothing=\"1.5\": detector smoothing must be in (0, 1], "
       "got "
       "1.500000\n"},
      {{{"epochs", "3x"}}, "hyperparameters: setting --epochs=\"3x\": not a whole number >= 0\n"},
      {{{"no_stop", "maybe"}},
       "hyperparameters: setting no_stop=\"maybe\": not a boolean (True, False, true, false, 1, "
       "0)\n"},
      {{{"colour", "red"}}, "hyperparameters: unknown option --colour\n"},
  };
  for (const auto& [h, reason] : cases) {
    INFO(h.dump());
    const fake_opt_ml ml;
    ml.hyperparameters(h);
    const auto r = ml.run();
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(ml.failure() == reason);
    CHECK(r.err.find(reason) != std::string::npos);
    CHECK_FALSE(fs::exists(ml.path("model/model.pt")));
  }
}

TEST_CASE("a torchrun worker of rank 1 writes no EMF line and no file, rank 0 does") {
  const fake_opt_ml ml;
  ml.hyperparameters(short_run());
  const auto worker = ml.run("RANK=1 LOCAL_RANK=1 WORLD_SIZE=2");
  INFO(worker.err);
  REQUIRE(worker.exit_code == 0);
  CHECK(worker.out.empty());
  CHECK(worker.err.find("epoch  3") != std::string::npos);  // it trained
  CHECK_FALSE(fs::exists(ml.path("model")));
  const auto primary = ml.run("RANK=0 LOCAL_RANK=0 WORLD_SIZE=2");
  REQUIRE(primary.exit_code == 0);
  CHECK(events_of(primary.out).size() == 3);
  CHECK(fs::exists(ml.path("model/model.pt")));
}

TEST_CASE("a job resumed from its checkpoint after the best epoch alarms at the same epoch") {
  json h = short_run();
  h.erase("no_stop");  // stop when the detector says so
  h["epochs"] = "24";
  h["train_size"] = "500";
  h["val_size"] = "1000";
  // The uninterrupted run.
  const fake_opt_ml whole;
  whole.hyperparameters(h);
  const auto w = whole.run();
  REQUIRE(w.exit_code == 0);
  const auto expected = events_of(w.out);
  REQUIRE_FALSE(expected.empty());
  const auto& last = expected.back();
  REQUIRE(last["OverfittingDetected"] == 1);  // it stopped on the verdict
  const int alarm = last["Epoch"].get<int>();
  const int interrupt = last["BestEpoch"].get<int>() + 1;  // after the best epoch
  REQUIRE(interrupt < alarm);
  // The same job, interrupted after `interrupt` epochs (the last checkpoint
  // of a reclaimed spot instance), then started again with the same checkpoint folder.
  const fake_opt_ml ml;
  h["checkpoint_dir"] = ml.path("checkpoints").string();
  h["epochs"] = std::to_string(interrupt);
  ml.hyperparameters(h);
  const auto first = ml.run();
  REQUIRE(first.exit_code == 0);
  h["epochs"] = "24";
  ml.hyperparameters(h);
  const auto second = ml.run();
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  CHECK(second.err.find("after epoch " + std::to_string(interrupt)) != std::string::npos);
  auto resumed = events_of(first.out);
  for (const auto& e : events_of(second.out)) resumed.push_back(e);
  // Every signal, epoch by epoch, as in the uninterrupted run.
  REQUIRE(resumed.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    for (const auto& m : fitwatch::signal_metrics) {
      const std::string name(m.name);
      INFO(name << " at epoch " << i + 1);
      CHECK(resumed[i].contains(name) == expected[i].contains(name));
      if (expected[i].contains(name)) CHECK(resumed[i][name] == expected[i][name]);
    }
    for (const char* p : {"Epoch", "BestEpoch", "OverfittingReason"}) {
      CHECK(resumed[i][p] == expected[i][p]);
    }
  }
  CHECK(slurp(ml.path("model/curves.csv").string()) ==
        slurp(whole.path("model/curves.csv").string()));
}
