// The alarm model against hostile numbers and times: NaN, Infinity and
// 1.79e308 through every statistic, numbers CloudWatch would refuse in an
// alarm, timestamps far from the log's clock, years of empty time, and a
// week of live log held in bounded memory (issue #12: H3, M1, watch memory).
#include <cmath>
#include <limits>

#include "alarms/alarm_support.hpp"
#include "alarms/cloudwatch_text.hpp"
#include "alarms/error.hpp"
#include "alarms/log_clock.hpp"
#include "alarms/math.hpp"
#include "alarms/statistic.hpp"

using fitwatch::alarms::alarm_error;
using fitwatch::alarms::engine;
using fitwatch::alarms::log_clock;
using fitwatch::alarms::statistic;
using fitwatch::test::add;
using fitwatch::test::alarm_template;
using fitwatch::test::base;
using fitwatch::test::event;
using fitwatch::test::minute;
using fitwatch::test::model_of;
using nlohmann::json;

namespace {
const double huge = 1.79e308;
const double infinity = std::numeric_limits<double>::infinity();
const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const std::vector<std::string> every_statistic = {
    "SampleCount", "Sum", "Average", "Minimum", "Maximum", "p50", "p99.9", "p0", "p100"};
}  // namespace

TEST_CASE("statistics: NaN and Infinity are no datapoint, in every statistic") {
  // CloudWatch stores no NaN or Infinity (API_MetricDatum), so they count
  // as absent: the result is the statistic of the finite values.
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html
  for (const auto& stat : every_statistic) {
    INFO(stat);
    CHECK(statistic(stat, {not_a_number, 2.0, infinity, -infinity, 4.0}) ==
          statistic(stat, {2.0, 4.0}));
    CHECK(!statistic(stat, {not_a_number, infinity, -infinity}).has_value());
  }
}

TEST_CASE("statistics: 1.79e308 through every statistic never gives NaN") {
  for (const auto& stat : every_statistic) {
    INFO(stat);
    for (const auto& values : std::vector<std::vector<double>>{
             {huge, huge}, {-huge, -huge}, {huge, -huge, huge}, {huge, huge, -huge, -huge}}) {
      const auto v = statistic(stat, values);
      REQUIRE(v.has_value());
      CHECK(!std::isnan(*v));
    }
  }
  // The mean of huge values is finite; a sum beyond a double is +-Infinity.
  CHECK(*statistic("Average", {huge, huge}) == huge);
  CHECK(*statistic("Average", {-huge, -huge}) == -huge);
  CHECK(*statistic("Sum", {huge, huge}) == infinity);
  CHECK(*statistic("Sum", {-huge, -huge}) == -infinity);
  CHECK(*statistic("Sum", {huge, huge, -huge, -huge}) == 0.0);
  // Ordinary values: the same bits as a plain sum.
  CHECK(*statistic("Average", {0.1, 0.2, 0.3}) == (0.1 + 0.2 + 0.3) / 3);
}

TEST_CASE("percentile statistics are pNN or pNN.NN from 0 to 100, nothing else") {
  for (const char* ok : {"p0", "p50", "p99.9", "p99.99", "p100", "p100.0"}) {
    INFO(ok);
    CHECK_NOTHROW(statistic(ok, {1.0}));
  }
  for (const char* bad :
       {"pnan", "pinf", "p1e2", "p-5", "p+5", "p 50", "p101", "p0x10", "p50.", "p.5", "p", "P50"}) {
    INFO(bad);
    CHECK_THROWS_WITH_AS(statistic(bad, {1.0}),
                         (std::string("statistic ") + bad + " is not supported").c_str(),
                         alarm_error);
  }
}

TEST_CASE("numbers are written like Java doubles, Infinity and NaN too") {
  CHECK(fitwatch::alarms::java_double(infinity) == "Infinity");
  CHECK(fitwatch::alarms::java_double(-infinity) == "-Infinity");
  CHECK(fitwatch::alarms::java_double(not_a_number) == "NaN");
  CHECK(fitwatch::alarms::java_double(huge) == "1.79E308");
  CHECK(fitwatch::alarms::java_double(1e-5) == "1.0E-5");
}

TEST_CASE("a time outside years 1970..9999 is written as milliseconds, never a wrong date") {
  const auto max = std::numeric_limits<std::int64_t>::max();
  for (const auto& text : {fitwatch::alarms::iso_time(max), fitwatch::alarms::email_time(max),
                           fitwatch::alarms::datapoint_time(max)}) {
    CHECK(text == "9223372036854775807 ms (not a date in years 1970..9999)");
  }
  CHECK(fitwatch::alarms::iso_time(-1) == "-1 ms (not a date in years 1970..9999)");
  CHECK(fitwatch::alarms::iso_time(fitwatch::alarms::max_time_ms) == "9999-12-31 23:59:59 UTC");
}

TEST_CASE("metric math: a number literal is a finite decimal") {
  using fitwatch::alarms::math_expression;
  CHECK_NOTHROW(math_expression("m * 2.5e3"));
  CHECK_THROWS_WITH_AS(math_expression("m * 1e999"),
                       "metric math: bad number '1e999' in: m * 1e999", alarm_error);
  // Hex is not a number in metric math (std::stod read 0x10 as 16).
  CHECK_THROWS_AS(math_expression("m * 0x10"), alarm_error);
}

TEST_CASE("alarms CloudWatch would refuse are errors, not evaluated") {
  // PutMetricAlarm: Period x EvaluationPeriods at most 1 day for periods
  // under an hour, else 7 days (a huge EvaluationPeriods made replay hang).
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
  for (const double threshold : {not_a_number, infinity, -infinity}) {
    auto model = model_of(alarm_template(1, 1, "missing"));
    model.alarms[0].threshold = threshold;
    CHECK_THROWS_WITH_AS(engine{model}, "resource A: Threshold is not a finite number",
                         alarm_error);
  }
  // The evaluation range is the template reader's check (one place).
  CHECK_THROWS_WITH_AS(model_of(alarm_template(1441, 1, "missing", "Maximum", 60)),
                       "resource A: Period x EvaluationPeriods = 60 x 1441 = 86460 s; CloudWatch "
                       "allows at most 86400 s for periods under an hour",
                       alarm_error);
  CHECK_THROWS_WITH_AS(model_of(alarm_template(169, 1, "missing", "Maximum", 3600)),
                       "resource A: Period x EvaluationPeriods = 3600 x 169 = 608400 s; "
                       "CloudWatch allows at most 604800 s",
                       alarm_error);
  CHECK_NOTHROW(engine{model_of(alarm_template(1440, 1, "missing", "Maximum", 60))});
  CHECK_NOTHROW(engine{model_of(alarm_template(168, 1, "missing", "Maximum", 3600))});
}

TEST_CASE("the log's clock: 14 days back from the latest event, 2 hours ahead of it or the wall") {
  // PutLogEvents rejects events more than 14 days old or more than 2 hours
  // in the future, and keeps the others.
  // https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
  const std::int64_t day = 24 * 3600 * 1000LL, hour = 3600 * 1000LL;
  std::int64_t wall = base;
  log_clock clock{[&] { return wall; }};
  CHECK(!clock.admit(base - 20 * day));  // the first event starts the clock
  CHECK(!clock.admit(base - 10 * day));
  CHECK(clock.now() == base - 10 * day);
  CHECK(!clock.admit(base - 24 * day));  // exactly 14 days: taken
  const auto old = clock.admit(base - 24 * day - 1);
  REQUIRE(old);
  CHECK(old->find("is more than 14 days before the log's clock") != std::string::npos);
  CHECK(clock.now() == base - 10 * day);  // a rejected event does not move it
  CHECK(!clock.admit(base + 2 * hour));   // the wall clock + 2 hours: taken
  const auto ahead = clock.admit(base + 4 * hour + 1);
  REQUIRE(ahead);
  CHECK(*ahead == "timestamp " + fitwatch::alarms::iso_time(base + 4 * hour + 1) +
                      " is more than 2 hours after the log's clock (" +
                      fitwatch::alarms::iso_time(base + 2 * hour) +
                      "); CloudWatch Logs rejects it");
  // Microseconds instead of milliseconds, the largest timestamp: rejected.
  CHECK(clock.admit(base * 1000));
  CHECK(clock.admit(std::numeric_limits<std::int64_t>::max()));
  // A recorded log older than the wall clock is replayed as it was written.
  wall = base + 400 * day;
  CHECK(!clock.admit(base + 3 * hour));
}

namespace {

struct seen {
  std::int64_t time;
  std::string alarm, from, to, reason;
  bool operator==(const seen& o) const {
    return time == o.time && alarm == o.alarm && from == o.from && to == o.to && reason == o.reason;
  }
};

std::vector<seen> run(engine& e, std::int64_t to) {
  std::vector<seen> out;
  for (const auto& t : e.advance_to(to)) {
    out.push_back(
        {t.time_ms, t.alarm_name, to_string(t.old_state), to_string(t.new_state), t.reason});
  }
  return out;
}

}  // namespace

TEST_CASE("the clock jumps over empty time, with the transitions of stepping through it") {
  // The same two bursts of data a day apart, once with nothing between them
  // (the engine jumps) and once with another metric every minute (it
  // cannot): the alarm's transitions must be identical.
  const std::int64_t gap = 24 * 60 * minute;
  for (const char* tmd : {"missing", "breaching", "notBreaching", "ignore"}) {
    INFO(tmd);
    const auto model = model_of(alarm_template(3, 2, tmd));
    engine jumping{model}, stepping{model};
    for (auto* e : {&jumping, &stepping}) {
      for (int i = 0; i < 4; ++i) {
        add(*e, event(base + i * minute + 1000, i % 2 == 0 ? 2.0 : 0.0), 1);
        add(*e, event(base + gap + i * minute + 1000, 2.0), 2);
      }
    }
    for (std::int64_t t = base; t < base + gap + 10 * minute; t += minute)
      add(stepping, event(t + 2000, 1.0, json::parse(R"([["J"]])"), "Other"), 3);
    const auto a = run(jumping, base + gap + 20 * minute);
    const auto b = run(stepping, base + gap + 20 * minute);
    CHECK(a.size() >= 2);
    CHECK(a == b);
    CHECK(stepping.evaluated_ticks() > 24 * 60);
    CHECK(jumping.evaluated_ticks() < 60);
  }
  // Fifty years of nothing cost a few ticks, not 26 million.
  const auto model = model_of(alarm_template(1, 1, "missing"));
  engine e{model};
  add(e, event(base + 1000, 2.0), 1);
  const std::int64_t later = base + 50 * 365 * 24 * 60 * minute;
  add(e, event(later + 1000, 2.0), 2);
  const auto t = run(e, later + 10 * minute);
  CHECK(e.evaluated_ticks() < 30);
  REQUIRE(t.size() == 4);  // ALARM, INSUFFICIENT_DATA; ALARM, INSUFFICIENT_DATA
  CHECK(t[2].time == later + minute);
}

TEST_CASE("a week of live log is held in memory bounded by the alarms' ranges") {
  // One event every 10 s for 7 days, evaluated as watch does (the clock up
  // to each event, then the event): the store keeps what the evaluation
  // ranges still read, not the log.
  const auto model = model_of(alarm_template(3, 3, "missing"));
  engine e{model};
  const std::int64_t every = 10000;
  const std::size_t events = 7 * 24 * 360;
  // Live samples: those of the lookback; at most twice that (compaction).
  const auto bound = 2 * static_cast<std::size_t>(e.lookback_ms() / every) + 2;
  std::size_t most = 0;
  for (std::size_t i = 0; i < events; ++i) {
    const std::int64_t ts = base + static_cast<std::int64_t>(i) * every;
    if (i > 0) e.advance_to(ts - 1);
    add(e, event(ts, static_cast<double>(i % 3)), i + 1);
    most = std::max(most, e.store().samples());
  }
  CHECK(e.store().datapoints() == events);
  CHECK(most <= bound);
  CHECK(bound < 100);
}

TEST_CASE("an event's Epoch is a whole number in range, or none") {
  // Converting 1e300 to an integer is undefined behaviour (it printed
  // "epoch -9223372036854775808"): out of range is no epoch.
  const auto epoch_of = [](const std::string& value) {
    const std::string line =
        R"({"_aws":{"Timestamp":1750000001000,"CloudWatchMetrics":[{"Namespace":"N",)"
        R"("Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1,"Epoch":)" +
        value + "}";
    fitwatch::emf::extracted_event e;
    REQUIRE(fitwatch::emf::validate_line(line, {}, &e).kind == fitwatch::emf::line_kind::emf);
    return e.epoch;
  };
  CHECK(epoch_of("7") == 7);
  CHECK(epoch_of("-3") == -3);
  CHECK(epoch_of("3.7") == 3);                              // cut toward zero
  CHECK(epoch_of("9007199254740993") == 9007199254740993);  // exact, not through a double
  CHECK(epoch_of("9223372036854775807") == INT64_MAX);
  CHECK(epoch_of("-9223372036854775808") == INT64_MIN);
  CHECK(epoch_of("-9.223372036854775808e18") == INT64_MIN);
  for (const std::string none : {"1e300", "-1e300", "9.3e18", "18446744073709551615",
                                 "9223372036854775808", "\"7\"", "true", "null", "[1]"}) {
    INFO(none);
    CHECK_FALSE(epoch_of(none).has_value());
  }
}
