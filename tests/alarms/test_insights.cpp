// Metrics Insights (multi time series) alarms in the engine: one contributor
// per GROUP BY value, each going to ALARM or back to OK as its own
// transition with the alarm's actions, and the alarm itself in ALARM while
// any contributor is. "Acting on alarm changes":
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Acting_Alarm_Changes.html
// (When a stopped series leaves ALARM is fitwatch's reading: docs/fleet.md.)
#include <string>
#include <vector>

#include "alarms/alarm_support.hpp"
#include "alarms/cloudwatch_text.hpp"
#include "alarms/engine.hpp"

using fitwatch::alarms::alarm_state;
using fitwatch::alarms::engine;
using fitwatch::alarms::transition;
using fitwatch::test::base;
using fitwatch::test::minute;
using fitwatch::test::model_of;
using nlohmann::json;

namespace {

json insights_template(int n) {
  json t = json::parse(R"({"Resources":{"Topic":{"Type":"AWS::SNS::Topic"},
    "A":{"Type":"AWS::CloudWatch::Alarm","Properties":{"AlarmName":"fleet",
    "Metrics":[{"Id":"q","Period":60,"ReturnData":true,
      "Expression":"SELECT MAX(M) FROM SCHEMA(\"FitWatch\", J) GROUP BY J ORDER BY MAX() DESC"}],
    "DatapointsToAlarm":1,"Threshold":1,"ComparisonOperator":"GreaterThanOrEqualToThreshold",
    "TreatMissingData":"ignore","AlarmActions":[{"Ref":"Topic"}]}}}})");
  t["Resources"]["A"]["Properties"]["EvaluationPeriods"] = n;
  return t;
}

// One EMF line of metric M for job `job`.
std::string line(const std::string& job, std::int64_t ts, double value) {
  return json{
      {"_aws",
       {{"Timestamp", ts},
        {"CloudWatchMetrics", json::array({{{"Namespace", "FitWatch"},
                                            {"Dimensions", json::parse(R"([["J"]])")},
                                            {"Metrics", json::array({{{"Name", "M"}}})}}})}}},
      {"J", job},
      {"M", value}}
      .dump();
}

void add(engine& e, const std::string& job, std::int64_t ts, double value) {
  REQUIRE(e.store().add_line(line(job, ts, value), 1).kind == fitwatch::emf::line_kind::emf);
}

// (contributor or "" for the alarm, old -> new, minutes after base)
struct change {
  std::string who, from, to;
  std::int64_t minutes;
  bool operator==(const change& o) const {
    return who == o.who && from == o.from && to == o.to && minutes == o.minutes;
  }
};

std::vector<change> changes(const std::vector<transition>& ts) {
  std::vector<change> out;
  for (const auto& t : ts) {
    out.push_back({t.contributor_level() ? t.contributor : "", to_string(t.old_state),
                   to_string(t.new_state), (t.time_ms - base) / minute});
  }
  return out;
}

}  // namespace

namespace doctest {
template <>
struct StringMaker<change> {
  static String convert(const change& c) {
    return (c.who + " " + c.from + "->" + c.to + " @" + std::to_string(c.minutes)).c_str();
  }
};
}  // namespace doctest

TEST_CASE("a contributor whose series stopped leaves ALARM once its range holds no datapoint") {
  const auto model = model_of(insights_template(1));
  engine e{model};
  add(e, "a", base + 1000, 2.0);  // breaching, in the period starting at base
  const auto ts = e.advance_to(base + 10 * minute);
  // Range = N + 2 = 3 periods: the tick at base + 4 min no longer reads
  // [base, base + 1 min).
  CHECK(changes(ts) == std::vector<change>{{"J=a", "OK", "ALARM", 1},
                                           {"", "INSUFFICIENT_DATA", "ALARM", 1},
                                           {"J=a", "ALARM", "OK", 4},
                                           {"", "ALARM", "OK", 4}});
  REQUIRE(ts.size() == 4);
  CHECK(ts[0].reason ==
        "Threshold Crossed: 1 datapoint was greater than or equal to the threshold (1.0). The most "
        "recent datapoint which crossed the threshold: [2.0 (" +
            fitwatch::alarms::datapoint_time(base) + ")].");
  CHECK(ts[1].reason == "1 out of 1 time series evaluated to ALARM");
  CHECK(ts[2].reason == "No datapoint in the last 3 periods: the time series no longer exists.");
  CHECK(ts[3].reason == "0 out of 0 time series evaluated to ALARM");
  CHECK(ts[0].contributor_id.size() == 16);
  CHECK(ts[0].contributor_id == ts[2].contributor_id);
  CHECK(ts[0].contributor_attributes ==
        std::vector<std::pair<std::string, std::string>>{{"J", "a"}});
  CHECK(ts[0].actions == std::vector<std::string>{model.topics.at(0).arn});
  CHECK(ts[1].actions == ts[0].actions);  // the alarm level acts too
  CHECK(ts[2].actions.empty());           // no OKActions
  CHECK(e.state_of("fleet") == alarm_state::ok);
}

TEST_CASE("each contributor changes on its own, the alarm changes once") {
  const auto model = model_of(insights_template(1));
  engine e{model};
  add(e, "a", base + 1000, 0.0);
  add(e, "b", base + 2000, 2.0);
  add(e, "a", base + minute + 1000, 2.0);  // a breaches a minute later
  add(e, "b", base + minute + 2000, 0.0);  // b recovers with data
  const auto ts = e.advance_to(base + 2 * minute);
  CHECK(changes(ts) == std::vector<change>{{"J=b", "OK", "ALARM", 1},
                                           {"", "INSUFFICIENT_DATA", "ALARM", 1},
                                           {"J=a", "OK", "ALARM", 2},
                                           {"J=b", "ALARM", "OK", 2}});
  REQUIRE(ts.size() == 4);
  CHECK(ts[0].contributor_id != ts[2].contributor_id);
  CHECK(ts[1].contributor == "J=b");  // the alarm level lists who is in ALARM
}

TEST_CASE("a long evaluation range keeps a job in ALARM between its evaluations") {
  // Epochs 10 minutes apart, N = 30: the verdict stays ALARM, no email per epoch.
  const auto model = model_of(insights_template(30));
  engine e{model};
  for (int epoch = 0; epoch < 5; ++epoch) add(e, "a", base + epoch * 10 * minute + 1000, 2.0);
  const auto ts = e.advance_to(base + 100 * minute);
  CHECK(changes(ts) == std::vector<change>{{"J=a", "OK", "ALARM", 1},
                                           {"", "INSUFFICIENT_DATA", "ALARM", 1},
                                           {"J=a", "ALARM", "OK", 73},
                                           {"", "ALARM", "OK", 73}});
}

TEST_CASE("more than 100 contributors in ALARM read 100+, above 500 series partial data") {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html
  const auto model = model_of(insights_template(1));
  SUBCASE("101 jobs in ALARM") {
    engine e{model};
    for (int j = 0; j < 101; ++j) add(e, "job-" + std::to_string(j), base + 1000, 1);
    const auto ts = e.advance_to(base + minute);
    REQUIRE_FALSE(ts.empty());
    CHECK(ts.back().reason == "100+ out of 101 time series evaluated to ALARM");
  }
  SUBCASE("100 jobs in ALARM are counted") {
    engine e{model};
    for (int j = 0; j < 100; ++j) add(e, "job-" + std::to_string(j), base + 1000, 1);
    CHECK(e.advance_to(base + minute).back().reason ==
          "100 out of 100 time series evaluated to ALARM");
  }
  SUBCASE("600 series: the 500 highest are evaluated") {
    engine e{model};
    // 599 jobs at 0, one at 1 among them: it is in the first 500 (MAX() DESC).
    for (int j = 0; j < 600; ++j) add(e, "job-" + std::to_string(j), base + 1000, j == 599 ? 1 : 0);
    const auto ts = e.advance_to(base + minute);
    REQUIRE_FALSE(ts.empty());
    CHECK(ts.front().contributor == "J=job-599");
    CHECK(ts.back().reason ==
          "1 out of 500 time series evaluated to ALARM (PARTIAL_DATA: the query returned 500 of "
          "600 time series)");
  }
}
