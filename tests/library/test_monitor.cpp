// The monitor writes each value under its own name: the metric table and
// the values are paired by name, not by position.
#include <cmath>
#include <set>

#include "fitwatch/monitor.hpp"
#include "support.hpp"

TEST_CASE("every signal metric carries its own value") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  fitwatch::monitor mon{log};
  mon.observe(1, {0.25, 0.5, 0.875, 0.75});
  const auto lines = sink->snapshot();
  REQUIRE(lines.size() == 1);
  const auto e = fitwatch::test::parse_emf(lines[0]);
  CHECK(e["TrainLoss"] == 0.25);
  CHECK(e["ValidationLoss"] == 0.5);
  CHECK(e["TrainAccuracy"] == 0.875);
  CHECK(e["ValidationAccuracy"] == 0.75);
  CHECK(e["GeneralizationGap"] == 0.25);
  CHECK(e["GeneralizationGapRatio"].get<double>() == doctest::Approx(1.0));
  CHECK(e["GeneralizationLoss"] == 0.0);
  CHECK(e["ValidationLossRiseStreak"] == 0);
  CHECK(e["EvaluationsSinceBest"] == 0);
  CHECK(e["BestValidationLoss"] == 0.5);
  CHECK(e["OverfittingDetected"] == 0);
  CHECK(e["TrainingDiverged"] == 0);
  // Every metric of the table is on the line, and nothing else.
  CHECK(e["_aws"]["CloudWatchMetrics"][0]["Metrics"].size() == fitwatch::signal_metrics.size());
  for (const auto& m : fitwatch::signal_metrics) CHECK(e.contains(std::string(m.name)));
}

TEST_CASE("without accuracies, the accuracy metrics are left out") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  fitwatch::monitor mon{log};
  mon.observe(1, {0.25, 0.5});
  const auto e = fitwatch::test::parse_emf(sink->snapshot().at(0));
  CHECK_FALSE(e.contains("TrainAccuracy"));
  CHECK_FALSE(e.contains("ValidationAccuracy"));
  CHECK(e["TrainLoss"] == 0.25);
}

TEST_CASE("the monitor's state carries the detector and the best epoch across a resume") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  fitwatch::monitor first{log};
  first.observe(11, {0.5, 0.4});
  first.observe(12, {0.4, 0.3});
  first.observe(13, {0.3, 0.35});
  fitwatch::monitor resumed{log};
  resumed.restore_state(first.save_state());
  resumed.observe(14, {0.25, 0.36});
  const auto e = fitwatch::test::parse_emf(sink->snapshot().back());
  CHECK(e["BestEpoch"] == 12);
  CHECK(e["EvaluationsSinceBest"] == 2);
  CHECK_THROWS_WITH_AS(resumed.restore_state(R"({"detector": {}, "best_epoch": "x"})"),
                       "fitwatch: monitor state: best_epoch is not a whole number",
                       fitwatch::error);
  CHECK_THROWS_WITH_AS(
      resumed.restore_state("{}"),
      "fitwatch: monitor state: not an object with \"detector\" and \"best_epoch\"",
      fitwatch::error);
}

TEST_CASE(
    "a named metric is written under its name, its best under Best<name>, signals unchanged") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  fitwatch::detector_options o;
  o.monitor = "val_f1";
  o.mode = fitwatch::direction::max;
  fitwatch::monitor mon{log, o};
  fitwatch::evaluation first{0.25, 0.5};
  first.metric = 0.75;
  mon.observe(1, first);
  fitwatch::evaluation second{0.25, 0.5, 0.9, 0.8};  // every metric on the line
  second.metric = 0.5;
  mon.observe(2, second);
  const auto lines = sink->snapshot();
  REQUIRE(lines.size() == 2);
  const auto e = fitwatch::test::parse_emf(lines[1]);
  CHECK(e["val_f1"] == 0.5);
  CHECK(e["Bestval_f1"] == 0.75);  // higher is better: the first one stays the best
  CHECK_FALSE(e.contains("BestValidationLoss"));
  CHECK(e["ValidationLoss"] == 0.5);  // the losses are still written as given
  CHECK(e["GeneralizationLoss"].get<double>() ==
        doctest::Approx(100.0 / 3 * fitwatch::detector_options{}.smoothing));  // smoothed
  CHECK(e["EvaluationsSinceBest"] == 1);
  CHECK(e["ValidationLossRiseStreak"] == 1);  // one evaluation worse
  // Exactly the schema's metrics for this monitor.
  const auto schema = nlohmann::json::parse(fitwatch::schema_json("FitWatch", o));
  std::set<std::string> declared, listed;
  for (const auto& d : e["_aws"]["CloudWatchMetrics"][0]["Metrics"]) {
    declared.insert(d["Name"].get<std::string>());
  }
  for (const auto& m : schema["Metrics"]) listed.insert(m["Name"].get<std::string>());
  CHECK(declared == listed);
  CHECK(schema["Monitor"]["Name"] == "val_f1");
  CHECK(schema["Monitor"]["Mode"] == "max");
  CHECK(schema["Monitor"]["Best"] == "Bestval_f1");
  // The signals the templates' alarms read keep their names.
  for (const char* name :
       {"OverfittingDetected", "TrainingDiverged", "GeneralizationLoss", "ValidationLossRiseStreak",
        "EvaluationsSinceBest", "GeneralizationGapRatio"}) {
    CHECK(declared.count(name) == 1);
  }
}

TEST_CASE("a monitored metric whose name is invalid or already on the line fails at setup") {
  fitwatch::logger log{fitwatch::test::quiet_options(std::make_shared<fitwatch::discard_sink>())};
  fitwatch::detector_options o;
  for (const char* taken : {"TrainLoss", "OverfittingDetected", "Epoch", "TrainingJobName"}) {
    o.monitor = taken;
    const std::string expected = "monitored metric \"" + std::string(taken) + "\"";
    CHECK_THROWS_WITH_AS(fitwatch::monitor(log, o), doctest::Contains(expected.c_str()),
                         fitwatch::error);
  }
  o.monitor = std::string(252, 'x');  // valid alone, but Best + it is over 255 characters
  CHECK_THROWS_WITH_AS(fitwatch::monitor(log, o), doctest::Contains("more than 255"),
                       fitwatch::error);
  o.monitor = "bad\xc3";
  CHECK_THROWS_WITH_AS(fitwatch::monitor(log, o), doctest::Contains("invalid metric name"),
                       fitwatch::error);
}
