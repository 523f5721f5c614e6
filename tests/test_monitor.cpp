// The monitor writes each value under its own name: the metric table and
// the values are paired by name, not by position.
#include <cmath>

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
