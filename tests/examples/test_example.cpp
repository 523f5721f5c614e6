// The Fashion-MNIST example end to end: real training, EMF on stdout, the
// two presets, and `fitwatch emit` agreeing with the in-process detector.
#include <cstdio>
#include <fstream>

#include "fitwatch/monitor.hpp"
#include "run_command.hpp"
#include "support.hpp"

#ifndef FITWATCH_EXAMPLE
#error "FITWATCH_EXAMPLE must name the example binary"
#endif

using fitwatch::test::lines_of;
using fitwatch::test::parse_emf;
using fitwatch::test::run_command;
using nlohmann::json;

namespace {
const std::string example = std::string(FITWATCH_EXAMPLE) + " --threads 2";
const std::string cli = FITWATCH_CLI;

std::vector<json> events_of(const std::string& out) {
  std::vector<json> events;
  for (const auto& l : lines_of(out)) events.push_back(parse_emf(l));
  return events;
}
}  // namespace

TEST_CASE("a short run writes one valid EMF line per epoch") {
  const auto r =
      run_command(example + " --epochs 3 --train-size 300 --val-size 300 --test-size 300");
  REQUIRE(r.exit_code == 0);
  const auto events = events_of(r.out);
  REQUIRE(events.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(events[i]["Epoch"] == i + 1);
    CHECK(events[i]["TrainingJobName"] == "fashion-mnist");
    CHECK(events[i].contains("TestLoss"));  // a property, not a metric
    CHECK(events[i]["TrainLoss"].is_number());
    CHECK(events[i]["ValidationAccuracy"].is_number());
  }
  const auto v = run_command(cli + " validate", r.out);
  CHECK(v.exit_code == 0);
  CHECK(r.err.find("epoch  3") != std::string::npos);  // the human summary is on stderr
}

TEST_CASE("the overfit preset: the verdict turns 1 after the validation loss turned up") {
  const auto r = run_command(example + " --preset overfit");
  REQUIRE(r.exit_code == 0);
  const auto events = events_of(r.out);
  REQUIRE(events.size() >= 5);
  std::size_t first = events.size();
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i]["OverfittingDetected"] == 1) {
      first = i;
      break;
    }
  }
  REQUIRE(first < events.size());
  const auto& e = events[first];
  // Clearly turned up: more than 5% above the best (raw and smoothed), after
  // an evaluation that was already above it.
  CHECK(e["ValidationLoss"].get<double>() > 1.05 * e["BestValidationLoss"].get<double>());
  CHECK(e["GeneralizationLoss"].get<double>() > 5.0);
  CHECK(events[first - 1]["GeneralizationLoss"].get<double>() > 0.0);
  CHECK(e["Epoch"].get<int>() > e["BestEpoch"].get<int>());
  // The detector said stop: training ended there, best weights restored.
  CHECK(first == events.size() - 1);
  CHECK(r.err.find("weights of epoch " + std::to_string(e["BestEpoch"].get<int>()) + " restored") !=
        std::string::npos);
}

TEST_CASE("the regularized preset: the verdict stays 0") {
  const auto r = run_command(example + " --preset regularized --no-stop");
  REQUIRE(r.exit_code == 0);
  const auto events = events_of(r.out);
  REQUIRE(events.size() == 15);
  for (const auto& e : events) CHECK(e["OverfittingDetected"] == 0);
  CHECK(r.err.find("no overfitting detected") != std::string::npos);
}

TEST_CASE("fitwatch emit gives the same signals for the same losses") {
  const fitwatch::test::temp_dir dir;
  const std::string curves = dir.file("example_curves.csv");
  const auto r =
      run_command(example + " --preset overfit --epochs 16 --no-stop --curves " + curves);
  REQUIRE(r.exit_code == 0);
  const auto emitted =
      run_command(cli + " emit --job-name fashion-mnist", fitwatch::test::slurp(curves));
  REQUIRE(emitted.exit_code == 0);
  const auto a = events_of(r.out), b = events_of(emitted.out);
  REQUIRE(a.size() == 16);
  REQUIRE(b.size() == 16);
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (const auto& m : fitwatch::signal_metrics) {
      const std::string name(m.name);
      INFO(name << " at epoch " << i + 1);
      REQUIRE(a[i].contains(name) == b[i].contains(name));
      if (a[i].contains(name)) CHECK(a[i][name] == b[i][name]);
    }
    CHECK(a[i]["OverfittingReason"] == b[i]["OverfittingReason"]);
  }
}

namespace {
std::vector<json> json_lines(const std::string& out) {
  std::vector<json> v;
  for (const auto& l : lines_of(out)) v.push_back(json::parse(l));
  return v;
}
const std::string shipped_template =
    std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml";
}  // namespace

TEST_CASE(
    "end to end: overfit preset -> replay with the shipped template -> ALARM and one email per "
    "address") {
  const fitwatch::test::temp_dir dir;
  const std::string log = dir.file("e2e_overfit.log");
  const std::string outbox = dir.file("e2e_outbox");
  const auto r = run_command(example + " --preset overfit --epoch-seconds 30");
  REQUIRE(r.exit_code == 0);
  std::ofstream(log) << r.out;
  const auto replay = run_command(cli + " replay --format json --template " + shipped_template +
                                  " --param TrainingJobName=fashion-mnist"
                                  " --param TeamEmails=a@example.com,b@example.org,c@example.net"
                                  " --outbox " +
                                  outbox + " " + log);
  REQUIRE(replay.exit_code == 0);
  // When the detector's verdict first turned 1.
  std::int64_t verdict_ms = 0, verdict_epoch = 0;
  for (const auto& e : events_of(fitwatch::test::slurp(log))) {
    if (e["OverfittingDetected"] == 1) {
      verdict_ms = e["_aws"]["Timestamp"].get<std::int64_t>();
      verdict_epoch = e["Epoch"].get<std::int64_t>();
      break;
    }
  }
  REQUIRE(verdict_ms > 0);
  const json* alert = nullptr;
  const auto transitions = json_lines(replay.out);
  for (const auto& t : transitions) {
    if (t["alarm"] == "fashion-mnist-fitwatch-alert" && t["new_state"] == "ALARM") {
      alert = &t;
      break;
    }
  }
  REQUIRE(alert != nullptr);
  // The evaluation after the verdict: the first 10-second tick at which the
  // period holding it has ended.
  CHECK((*alert)["time_ms"] == (verdict_ms / 10000 + 1) * 10000);
  CHECK((*alert)["epoch"] == verdict_epoch);
  CHECK((*alert)["type"] == "composite");
  CHECK((*alert)["emails"].empty());  // the composite is the job's state (issue #23)
  // The verdict's own alarm emails every member through the formatter, at
  // the same tick, naming the job and the epoch.
  const json* verdict = nullptr;
  for (const auto& t : transitions) {
    if (t["alarm"] == "fashion-mnist-fitwatch-overfitting" && t["new_state"] == "ALARM") {
      verdict = &t;
      break;
    }
  }
  REQUIRE(verdict != nullptr);
  CHECK((*verdict)["time_ms"] == (*alert)["time_ms"]);
  REQUIRE((*verdict)["emails"].size() == 3);
  for (const auto& e : (*verdict)["emails"]) {
    const auto text = fitwatch::test::slurp(e["file"].get<std::string>());
    CHECK(text.find("To: " + e["to"].get<std::string>() + "\r\n") != std::string::npos);
    CHECK(text.find("Subject: fitwatch: fashion-mnist is overfitting at epoch " +
                    std::to_string(verdict_epoch) + " (best ") != std::string::npos);
    CHECK(text.find("Training job fashion-mnist is overfitting at epoch " +
                    std::to_string(verdict_epoch) + ".") != std::string::npos);
  }
}

TEST_CASE("end to end: regularized preset -> replay -> no ALARM") {
  const fitwatch::test::temp_dir dir;
  const std::string log = dir.file("e2e_regularized.log");
  const auto r = run_command(example + " --preset regularized --epoch-seconds 30");
  REQUIRE(r.exit_code == 0);
  std::ofstream(log) << r.out;
  const auto replay =
      run_command(cli + " replay --format json --template " + shipped_template +
                  " --param TrainingJobName=fashion-mnist --param TeamEmails=a@example.com " + log);
  REQUIRE(replay.exit_code == 0);
  const auto transitions = json_lines(replay.out);
  CHECK(transitions.size() == 3);  // verdict, divergence and composite leave INSUFFICIENT_DATA
  for (const auto& t : transitions) {
    INFO(t.dump());
    CHECK(t["new_state"] != "ALARM");
    CHECK(t["emails"].empty());
  }
}
