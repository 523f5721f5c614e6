// fitwatch replay's engine: CloudWatch's evaluation rules on EMF input.
// The missing-data tables are the worked examples of the CloudWatch user
// guide, "How alarm state is evaluated when data is missing":
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
// 5 periods retrieved, oldest first; every cell of both tables is a check.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "alarms/alarm_support.hpp"
#include "alarms/cloudwatch_text.hpp"
#include "alarms/engine.hpp"
#include "alarms/error.hpp"
#include "alarms/statistic.hpp"
#include "cfn/template.hpp"
#include "support.hpp"

using fitwatch::alarms::alarm_error;
using fitwatch::alarms::alarm_state;
using fitwatch::alarms::engine;
using fitwatch::alarms::template_model;
using fitwatch::cfn::template_error;
using fitwatch::test::add;
using fitwatch::test::alarm_template;
using fitwatch::test::base;
using fitwatch::test::event;
using fitwatch::test::minute;
using fitwatch::test::model_of;
using nlohmann::json;

namespace {

// Feeds a pattern like "0 - X - X" (oldest first): one datapoint per
// period, 0 = 0.0 (not breaching), X = 2.0 (breaching), - = none.
void feed(engine& e, const std::string& pattern, std::int64_t start) {
  std::size_t i = 0;
  for (const char c : pattern) {
    if (c == ' ') continue;
    if (c != '-')
      add(e, event(start + static_cast<std::int64_t>(i) * minute + 1000, c == 'X' ? 2.0 : 0.0), i);
    ++i;
  }
}

// The state after evaluating the pattern at the tick when its fifth period
// has ended, starting from `prior` (set up ten minutes earlier).
alarm_state evaluate(const std::string& tmd, const std::string& pattern, alarm_state prior,
                     int n = 3, int m = 3) {
  const auto model = model_of(alarm_template(n, m, tmd));
  engine e{model};
  const std::int64_t setup = base - 20 * minute;
  // Another metric starts the clock, as the rest of a log would.
  add(e, event(setup - minute, 1.0, json::parse(R"([["J"]])"), "Other"), 0);
  if (prior != alarm_state::insufficient_data) {
    feed(e, prior == alarm_state::alarm ? "X X X" : "0 0 0", setup);
    e.advance_to(setup + 3 * minute);
    REQUIRE(e.state_of("a") == prior);
    // Then silence until the pattern: only `ignore` keeps the prior state.
  }
  feed(e, pattern, base);
  e.advance_to(base + 5 * minute);
  return e.state_of("a");
}

const auto OK = alarm_state::ok;
const auto ALARM = alarm_state::alarm;
const auto INSUFFICIENT = alarm_state::insufficient_data;

}  // namespace

// One row of a table of the guide: the datapoints, then the state for each
// TreatMissingData (nullopt: "Retain current state").
struct missing_data_row {
  const char* pattern;
  alarm_state missing;
  std::optional<alarm_state> ignore;
  alarm_state breaching, not_breaching;
};

void check_table(int n, int m, const std::vector<missing_data_row>& rows) {
  for (const auto& r : rows) {
    INFO("M=" << m << " N=" << n << " datapoints " << std::string(r.pattern));
    CHECK(evaluate("missing", r.pattern, INSUFFICIENT, n, m) == r.missing);
    CHECK(evaluate("breaching", r.pattern, INSUFFICIENT, n, m) == r.breaching);
    CHECK(evaluate("notBreaching", r.pattern, INSUFFICIENT, n, m) == r.not_breaching);
    // ignore: with a prior ALARM and a prior OK, to tell "retain" from a result.
    for (const auto prior : {ALARM, OK}) {
      CHECK(evaluate("ignore", r.pattern, prior, n, m) == r.ignore.value_or(prior));
    }
    // The other columns do not depend on the prior state.
    CHECK(evaluate("missing", r.pattern, OK, n, m) == r.missing);
    CHECK(evaluate("breaching", r.pattern, OK, n, m) == r.breaching);
    CHECK(evaluate("notBreaching", r.pattern, ALARM, n, m) == r.not_breaching);
  }
}

const std::optional<alarm_state> RETAIN = std::nullopt;

TEST_CASE("the guide's missing-data table for 3 out of 3, every cell") {
  //          datapoints     MISSING       IGNORE  BREACHING  NOT BREACHING
  check_table(3, 3,
              {{"0 - X - X", OK, OK, OK, OK},
               {"0 - - - -", OK, OK, OK, OK},
               {"- - - - -", INSUFFICIENT, RETAIN, ALARM, OK},
               {"0 X X - X", ALARM, ALARM, ALARM, ALARM},
               {"- - - - X", INSUFFICIENT, RETAIN, ALARM, OK},
               {"X - - - -", ALARM, RETAIN, ALARM, OK}});
}

TEST_CASE("the guide's missing-data table for 2 out of 3, every cell") {
  //          datapoints     MISSING       IGNORE  BREACHING  NOT BREACHING
  check_table(3, 2,
              {{"0 - X - X", ALARM, ALARM, ALARM, ALARM},
               {"0 0 X 0 X", ALARM, ALARM, ALARM, ALARM},
               {"0 - X - -", OK, OK, ALARM, OK},
               {"- - - - 0", OK, OK, ALARM, OK},
               {"- - - - X", INSUFFICIENT, RETAIN, ALARM, OK}});
}

TEST_CASE("M of N with M < N") {
  // 2 of 3: two breaching datapoints among the last three real ones.
  CHECK(evaluate("missing", "0 0 X 0 X", INSUFFICIENT, 3, 2) == ALARM);
  CHECK(evaluate("missing", "X X 0 0 X", INSUFFICIENT, 3, 2) == OK);  // most recent 3: 0 0 X
  // Three real datapoints, X 0 X: the most recent three decide, 2 breaching.
  CHECK(evaluate("missing", "X 0 - - X", INSUFFICIENT, 3, 2) == ALARM);
  CHECK(evaluate("notBreaching", "- - - X X", INSUFFICIENT, 3, 2) == ALARM);
  CHECK(evaluate("notBreaching", "- - - - X", INSUFFICIENT, 3, 2) == OK);
  CHECK(evaluate("breaching", "- - - 0 -", INSUFFICIENT, 3, 2) == ALARM);  // 0 + 2 filled X
  CHECK(evaluate("ignore", "- - - 0 0", ALARM, 3, 2) == OK);
  // One breaching and one non-breaching datapoint, one missing: OK, as the
  // guide's row "0 - X - -" under IGNORE.
  CHECK(evaluate("ignore", "- - - X 0", OK, 3, 2) == OK);
  CHECK(evaluate("ignore", "- - - X 0", ALARM, 3, 2) == OK);
  CHECK(evaluate("missing", "- - - X -", INSUFFICIENT, 3, 2) == INSUFFICIENT);
  CHECK(evaluate("ignore", "- - - X -", ALARM, 3, 2) == ALARM);  // only breaching, too few: retain
}

TEST_CASE("a metric is namespace + name + the full dimension set") {
  const json two_sets = json::parse(R"([["J"],["J","Host"]])");
  SUBCASE("every dimension set of a directive feeds its own metric") {
    for (const auto& dims :
         {json::parse(R"([{"Name":"J","Value":"x"}])"),
          json::parse(R"([{"Name":"Host","Value":"h"},{"Name":"J","Value":"x"}])")}) {
      const auto model = model_of(alarm_template(1, 1, "missing", "Maximum", 60, dims));
      engine e{model};
      add(e, event(base + 1000, 5.0, two_sets), 1);
      e.advance_to(base + minute);
      CHECK(e.state_of("a") == ALARM);
    }
  }
  SUBCASE("the right name with another dimension set does not feed the alarm") {
    const auto model = model_of(alarm_template(1, 1, "missing"));  // [J]
    engine e{model};
    add(e, event(base + 1000, 5.0, json::parse(R"([["J","Host"]])")), 1);
    e.advance_to(base + 3 * minute);
    CHECK(e.state_of("a") == INSUFFICIENT);
  }
  SUBCASE("another value of the dimension is another metric") {
    const auto model = model_of(alarm_template(1, 1, "missing", "Maximum", 60,
                                               json::parse(R"([{"Name":"J","Value":"y"}])")));
    engine e{model};
    add(e, event(base + 1000, 5.0), 1);
    e.advance_to(base + 3 * minute);
    CHECK(e.state_of("a") == INSUFFICIENT);
  }
}

TEST_CASE("statistics per period, arrays as several datapoints, percentiles") {
  const json values = json::array({0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0});
  const std::vector<std::pair<std::string, alarm_state>> cases = {
      {"Maximum", ALARM}, {"Minimum", OK},
      {"Average", ALARM},  // avg 1.1
      {"Sum", ALARM},     {"SampleCount", ALARM},
      {"p50", OK},  // p50 = 1.0? nearest rank 5 -> 1.0
      {"p90", ALARM},     {"p10", OK}};
  for (const auto& [stat, expected] : cases) {
    INFO(stat);
    json t = alarm_template(1, 1, "missing", stat);
    if (stat == "p50") t["Resources"]["A"]["Properties"]["Threshold"] = 1.01;
    const auto model = model_of(t);
    engine e{model};
    add(e, event(base + 1000, values), 1);
    e.advance_to(base + minute);
    CHECK(e.state_of("a") == expected);
  }
  CHECK(fitwatch::alarms::statistic("p90", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) == 9.0);
  CHECK(fitwatch::alarms::statistic("p99.9", {1, 2, 3}) == 3.0);
  CHECK(fitwatch::alarms::statistic("Average", {1, 2}) == 1.5);
  CHECK_FALSE(fitwatch::alarms::statistic("Maximum", {}).has_value());
  CHECK_THROWS_AS(fitwatch::alarms::statistic("Median", {1.0}), alarm_error);
  CHECK_THROWS_AS(fitwatch::alarms::statistic("p101", {1.0}), alarm_error);
}

TEST_CASE("high-resolution alarms tick every 10 seconds, standard ones every minute") {
  const auto hi = model_of(alarm_template(1, 1, "missing", "Maximum", 10));
  engine e{hi};
  add(e, event(base + 1000, 5.0), 1);
  const auto ts = e.advance_to(base + 10000);
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].time_ms == base + 10000);
  const auto lo = model_of(alarm_template(1, 1, "missing", "Maximum", 60));
  engine f{lo};
  add(f, event(base + 1000, 5.0), 1);
  CHECK(f.advance_to(base + 50000).empty());  // the period has not ended
  const auto t2 = f.advance_to(base + minute);
  REQUIRE(t2.size() == 1);
  CHECK(t2[0].time_ms == base + minute);
}

TEST_CASE("reasons are written in CloudWatch's words") {
  const auto model = model_of(alarm_template(1, 1, "breaching"));
  engine e{model};
  add(e, event(base + 1000, 3.0), 1);
  auto ts = e.advance_to(base + minute);
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].reason ==
        "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (" +
            fitwatch::alarms::datapoint_time(base) +
            ")] was greater than or equal to the threshold (1.0) (minimum 1 datapoint "
            "for INSUFFICIENT_DATA -> ALARM transition).");
  add(e, event(base + minute + 1000, 0.5), 2);
  ts = e.advance_to(base + 2 * minute);
  REQUIRE(ts.size() == 1);
  CHECK(
      ts[0].reason.find("was not greater than or equal to the threshold (1.0) (minimum 1 datapoint "
                        "for ALARM -> OK transition)") != std::string::npos);
  // Nothing more: the last real datapoint stays in the evaluation range
  // (N + 2 = 3 periods) until the tick at +5 min; then breaching fills.
  CHECK(e.advance_to(base + 4 * minute).empty());
  ts = e.advance_to(base + 5 * minute);
  REQUIRE(ts.size() == 1);
  CHECK(ts[0].reason ==
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was "
        "treated as [Breaching].");
  CHECK(fitwatch::alarms::java_double(1) == "1.0");
  CHECK(fitwatch::alarms::java_double(0.25) == "0.25");
  CHECK(fitwatch::alarms::java_double(1e-4) == "1.0E-4");
  CHECK(fitwatch::alarms::java_double(12345678) == "1.2345678E7");
  CHECK(fitwatch::alarms::email_time(1749989237000) == "Sunday 15 June, 2025 12:07:17 UTC");
  // A two-digit day, as real emails print it ("Monday 07 December").
  CHECK(fitwatch::alarms::email_time(1796637600000) == "Monday 07 December, 2026 10:00:00 UTC");
  CHECK(fitwatch::alarms::datapoint_time(1749988920000) == "15/06/25 12:02:00");
}

TEST_CASE("composite alarm rules: ALARM, OK, INSUFFICIENT_DATA, AND, OR, NOT, names and ARNs") {
  json t = alarm_template(1, 1, "missing");
  t["Resources"]["B"] = t["Resources"]["A"];
  t["Resources"]["B"]["Properties"]["AlarmName"] = "b";
  t["Resources"]["B"]["Properties"]["MetricName"] = "N";
  const auto with_rule = [&](const std::string& rule) {
    json u = t;
    u["Resources"]["C"] = {{"Type", "AWS::CloudWatch::CompositeAlarm"},
                           {"Properties", {{"AlarmName", "c"}, {"AlarmRule", rule}}}};
    return u;
  };
  const auto run = [&](const std::string& rule, double a_value) {
    const auto model = model_of(with_rule(rule));
    engine e{model};
    add(e, event(base + 1000, a_value), 1);  // a: ALARM if >= 1; b: no data
    e.advance_to(base + minute);
    return e.state_of("c");
  };
  CHECK(run(R"(ALARM("a"))", 2) == ALARM);
  CHECK(run(R"(ALARM("a"))", 0) == OK);
  CHECK(run(R"(ALARM(a) AND INSUFFICIENT_DATA(b))", 2) == ALARM);
  CHECK(run(R"(ALARM("a") AND NOT INSUFFICIENT_DATA("b"))", 2) == OK);
  CHECK(run(R"(OK("a") OR (ALARM("b") AND TRUE))", 0) == ALARM);
  CHECK(run(R"(NOT (OK("a") OR FALSE))", 0) == OK);
  CHECK(run(R"(ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"))", 2) == ALARM);
  CHECK_THROWS_WITH_AS(
      engine{model_of(with_rule(R"(ALARM("nope"))"))},
      doctest::Contains("AlarmRule names nope, which is not an alarm of this template"),
      alarm_error);
  CHECK_THROWS_WITH_AS(engine{model_of(with_rule(R"(ALARM("a") XOR OK("b"))"))},
                       doctest::Contains("AlarmRule: unexpected"), alarm_error);
}

TEST_CASE("a composite alarm evaluates when it is created: OK, with its OK actions") {
  json t = alarm_template(1, 1, "missing");
  t["Resources"]["C"] = {
      {"Type", "AWS::CloudWatch::CompositeAlarm"},
      {"Properties",
       {{"AlarmName", "c"}, {"AlarmRule", R"(ALARM("a"))"}, {"OKActions", {"arn:ok"}}}}};
  const auto model = model_of(t);
  engine e{model};
  add(e, event(base + 1000, 2), 1);  // a: ALARM at its first evaluation
  const auto ts = e.advance_to(base + minute);
  REQUIRE(ts.size() == 3);
  // Before any child is evaluated: the rule is false, the composite goes to
  // OK and runs its OK actions (at deploy time in AWS).
  CHECK(ts[0].alarm_name == "c");
  CHECK(ts[0].old_state == INSUFFICIENT);
  CHECK(ts[0].new_state == OK);
  CHECK(ts[0].reason == "The alarm rule evaluated to OK.");
  CHECK(ts[0].actions == std::vector<std::string>{"arn:ok"});
  CHECK(ts[1].alarm_name == "a");
  CHECK(ts[2].alarm_name == "c");
  CHECK(ts[2].new_state == ALARM);
}

TEST_CASE("template errors name the resource and the construct") {
  json t = alarm_template(1, 1, "missing");
  SUBCASE("an unsupported intrinsic function") {
    t["Resources"]["A"]["Properties"]["AlarmName"] = {{"Fn::Base64", "x"}};
    CHECK_THROWS_WITH_AS(
        model_of(t),
        "resource A property AlarmName: Fn::Base64 is not supported by fitwatch replay",
        template_error);
  }
  SUBCASE("metric math beyond what replay evaluates") {
    auto& p = t["Resources"]["A"]["Properties"];
    p.erase("MetricName");
    p["Metrics"] = json::parse(
        R"j([{"Id":"e","Expression":"ANOMALY_DETECTION_BAND(m1)","ReturnData":true,"Period":60}])j");
    CHECK_THROWS_WITH_AS(engine{model_of(t)},
                         doctest::Contains("function ANOMALY_DETECTION_BAND is not supported"),
                         alarm_error);
    p["Metrics"] =
        json::parse(R"([{"Id":"e","Expression":"m1 * 2","ReturnData":true,"Period":60}])");
    CHECK_THROWS_WITH_AS(engine{model_of(t)},
                         doctest::Contains("reads m1, which is not a query id"), alarm_error);
  }
  SUBCASE("a bad parameter value") {
    t["Parameters"] =
        json::parse(R"({"Mode":{"Type":"String","AllowedValues":["a","b"],"Default":"a"}})");
    fitwatch::cfn::template_options o;
    o.parameters["Mode"] = "c";
    CHECK_THROWS_WITH_AS(fitwatch::cfn::evaluate_template(t, o),
                         "parameter Mode: 'c' is not an AllowedValue", template_error);
    o.parameters = {{"Nope", "1"}};
    CHECK_THROWS_WITH_AS(fitwatch::cfn::evaluate_template(t, o),
                         "parameter Nope: not in the template", template_error);
  }
  SUBCASE("a period CloudWatch does not allow") {
    t["Resources"]["A"]["Properties"]["Period"] = 45;
    CHECK_THROWS_WITH_AS(model_of(t), doctest::Contains("resource A: Period 45"), template_error);
  }
  SUBCASE("YAML that does not parse") {
    CHECK_THROWS_AS(fitwatch::cfn::parse_template("Resources: [unclosed"), template_error);
  }
}

TEST_CASE("the shipped template: parameters, Rules, ForEach and the collision check") {
  const std::string path = std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml";
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  const json t = fitwatch::cfn::parse_template(text.str());
  fitwatch::cfn::template_options o;
  o.parameters = {{"TrainingJobName", "job-1"}, {"TeamEmails", "a@x.com,b@y.org,c@z.net"}};
  const auto model = fitwatch::cfn::evaluate_template(t, o);
  // By default the email follows the verdict and divergence only.
  REQUIRE(model.alarms.size() == 2);
  CHECK(model.alarms[0].name == "job-1-fitwatch-divergence");  // sorted by logical ID
  CHECK(model.alarms[1].name == "job-1-fitwatch-overfitting");
  REQUIRE(model.composites.size() == 1);
  CHECK(model.composites[0].name == "job-1-fitwatch-alert");
  {
    // Each extra rule is one parameter away, and joins the composite rule.
    auto with = o;
    with.parameters["RiseStreakThreshold"] = "3";
    with.parameters["NoImprovementThreshold"] = "10";
    with.parameters["GapRatioThreshold"] = "0.1";
    const auto all = fitwatch::cfn::evaluate_template(t, with);
    CHECK(all.alarms.size() == 5);
    with.parameters["GapRatioThreshold"] = "0";
    CHECK(fitwatch::cfn::evaluate_template(t, with).alarms.size() == 4);
  }
  // The alarm topic runs the formatter, which publishes to the team's topic.
  REQUIRE(model.topics.size() == 2);
  CHECK(model.topics[0].logical_id == "AlarmTopic");
  CHECK(model.topics[0].emails.empty());
  REQUIRE(model.topics[0].functions.size() == 1);
  CHECK(model.topics[0].functions[0].logical_id == "FormatterFunction");
  CHECK(model.topics[0].functions[0].handler == "index.handler");
  CHECK(model.topics[0].functions[0].code.find("def handler(event, context):") !=
        std::string::npos);
  CHECK(model.topics[0].functions[0].environment ==
        std::vector<std::pair<std::string, std::string>>{{"TEAM_TOPIC_ARN", model.topics[1].arn}});
  CHECK(model.topics[1].emails == std::vector<std::string>{"a@x.com", "b@y.org", "c@z.net"});
  CHECK(model.topics[1].display_name == "fitwatch");
  for (const auto& a : model.alarms)
    CHECK(a.alarm_actions == std::vector<std::string>{model.topics[0].arn});
  CHECK(model.composites[0].alarm_actions.empty());
  CHECK(model.alarms[0].period == 10);              // high resolution by default
  CHECK(model.alarms[0].evaluation_periods == 36);  // a datapoint 5 min late stays in range
  o.parameters["AlarmResolution"] = "standard";
  CHECK(fitwatch::cfn::evaluate_template(t, o).alarms[0].period == 60);
  o.parameters["TeamEmails"] = "";
  CHECK_THROWS_WITH_AS(fitwatch::cfn::evaluate_template(t, o), doctest::Contains("TeamEmails"),
                       template_error);
  o.parameters["TeamEmails"] = "a.b@x.com,ab@x.com";
  CHECK_THROWS_WITH_AS(fitwatch::cfn::evaluate_template(t, o),
                       doctest::Contains("resource Subscriptionabxcom: duplicate logical ID"),
                       template_error);
}

TEST_CASE("the shipped template with TeamTopicArn: no topic of its own, the team's is notified") {
  // Issue #13: every job stack created its own topic, so every member had to
  // confirm a subscription for every job.
  std::ifstream f(std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml");
  std::stringstream text;
  text << f.rdbuf();
  const json t = fitwatch::cfn::parse_template(text.str());
  const std::string team = "arn:aws:sns:us-east-1:123456789012:fitwatch-team";
  const auto has = [](const template_model& m, const std::string& skipped) {
    return std::find(m.skipped.begin(), m.skipped.end(), skipped) != m.skipped.end();
  };
  fitwatch::cfn::template_options o;
  o.parameters = {{"TrainingJobName", "job-1"}, {"TeamTopicArn", team}};
  auto model = fitwatch::cfn::evaluate_template(t, o);
  CHECK(model.topics.empty());
  CHECK_FALSE(has(model, "AWS::SNS::TopicPolicy: AlertTopicPolicy"));
  REQUIRE(model.alarms.size() == 2);
  // Each child notifies the team stack's alarm topic (team.yaml: <TopicName>-alarms).
  CHECK(model.alarms[0].alarm_actions == std::vector<std::string>{team + "-alarms"});
  CHECK(model.alarms[0].ok_actions.empty());
  CHECK(model.composites[0].alarm_actions.empty());
  // A key for a topic the stack does not create is refused (a Rule).
  o.parameters["CreateTopicKey"] = "true";
  CHECK_THROWS_WITH_AS(fitwatch::cfn::evaluate_template(t, o),
                       doctest::Contains("rule TopicOptionsNeedOwnTopic failed"), template_error);
  o.parameters.erase("CreateTopicKey");
  // TeamEmails and recovery emails: still no topic, and the OK action goes
  // to the team topic too.
  o.parameters["TeamEmails"] = "a@x.com,b@y.org";
  o.parameters["NotifyOnRecovery"] = "true";
  model = fitwatch::cfn::evaluate_template(t, o);
  CHECK(model.topics.empty());
  CHECK(model.alarms[1].ok_actions == std::vector<std::string>{team + "-alarms"});
  // Without it, as before: its own topic (and key) with the subscriptions, notified.
  o.parameters.erase("TeamTopicArn");
  o.parameters["CreateTopicKey"] = "true";
  model = fitwatch::cfn::evaluate_template(t, o);
  REQUIRE(model.topics.size() == 2);
  CHECK(model.topics[1].emails == std::vector<std::string>{"a@x.com", "b@y.org"});
  CHECK(model.alarms[0].alarm_actions == std::vector<std::string>{model.topics[0].arn});
  CHECK(has(model, "AWS::SNS::TopicPolicy: AlertTopicPolicy"));
  CHECK(has(model, "AWS::KMS::Key: TopicKey"));
  // A value that is no topic ARN is refused.
  o.parameters["TeamTopicArn"] = "arn:aws:sns:us-east-1:1234:fitwatch-team";
  CHECK_THROWS_WITH_AS(fitwatch::cfn::evaluate_template(t, o),
                       doctest::Contains("parameter TeamTopicArn"), template_error);
}

namespace {
// A metric-math alarm over metrics T and V (dimension J=x), 60 s periods.
json math_template(const std::string& expression, const std::string& op, double threshold,
                   const std::string& tmd = "missing") {
  json t = json::parse(R"({"Resources":{"A":{"Type":"AWS::CloudWatch::Alarm","Properties":{
    "AlarmName":"a","EvaluationPeriods":1,"DatapointsToAlarm":1,"Metrics":[
    {"Id":"t","ReturnData":false,"MetricStat":{"Stat":"Maximum","Period":60,"Metric":{
      "Namespace":"FitWatch","MetricName":"T","Dimensions":[{"Name":"J","Value":"x"}]}}},
    {"Id":"v","ReturnData":false,"MetricStat":{"Stat":"Maximum","Period":60,"Metric":{
      "Namespace":"FitWatch","MetricName":"V","Dimensions":[{"Name":"J","Value":"x"}]}}}]}}}})");
  auto& p = t["Resources"]["A"]["Properties"];
  p["Metrics"].push_back(
      {{"Id", "e"}, {"Expression", expression}, {"ReturnData", true}, {"Period", 60}});
  p["ComparisonOperator"] = op;
  p["Threshold"] = threshold;
  p["TreatMissingData"] = tmd;
  return t;
}

// The state of the math alarm after minutes of (T, V) values (nullopt: none).
alarm_state run_math(
    const json& t,
    const std::vector<std::pair<std::optional<double>, std::optional<double>>>& data) {
  const auto model = model_of(t);
  engine e{model};
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::int64_t ts = base + static_cast<std::int64_t>(i) * minute + 1000;
    if (data[i].first) add(e, event(ts, *data[i].first, json::parse(R"([["J"]])"), "T"), i);
    if (data[i].second) add(e, event(ts, *data[i].second, json::parse(R"([["J"]])"), "V"), i);
  }
  e.advance_to(base + static_cast<std::int64_t>(data.size()) * minute);
  return e.state_of("a");
}
}  // namespace

TEST_CASE("parse errors in metric math and AlarmRule name the language and the spot") {
  const auto math_error = [](const std::string& expression, const std::string& expected) {
    CHECK_THROWS_WITH_AS(
        engine{model_of(math_template(expression, "GreaterThanThreshold", 0))},
        doctest::Contains(("metric math: " + expected + " in: " + expression).c_str()),
        alarm_error);
  };
  math_error("v * .", "bad number '.'");
  math_error("v t", "unexpected 't'");
  math_error("(v - t", "missing ')'");
  math_error("v -", "unexpected end");
  // Arity and argument types are checked when the alarm is read, not while
  // evaluating it.
  math_error("FILL(v)", "FILL takes 2 arguments, not 1");
  math_error("DIFF(v, t)", "DIFF takes 1 argument, not 2");
  math_error("IF(v > t)", "IF takes 2 or 3 arguments, not 1");
  math_error("ABS()", "ABS takes 1 argument, not 0");
  math_error("v + DIFF(3)", "DIFF needs a time series, not a number");
  math_error("RATE(MAX(v))", "RATE needs a time series, not a number");
  math_error("[v, t]", "an [array] is only an argument of MAX, MIN, SUM or AVG");
  math_error("ABS([v, t])", "an [array] is only an argument of MAX, MIN, SUM or AVG");
  // REPEAT is a whole word: REPEATED is an id (and not a query's).
  CHECK_THROWS_WITH_AS(
      engine{model_of(math_template("FILL(v, REPEATED)", "GreaterThanThreshold", 0))},
      doctest::Contains("reads REPEATED, which is not a query id"), alarm_error);
  using P = std::pair<std::optional<double>, std::optional<double>>;
  // ">=" is not read as ">" followed by "=".
  CHECK(run_math(math_template("IF(v >= t, 1, 0)", "GreaterThanOrEqualToThreshold", 1),
                 {P{2, 2}}) == ALARM);

  json t = alarm_template(1, 1, "missing");
  const auto rule_error = [&](const std::string& rule, const std::string& expected) {
    json u = t;
    u["Resources"]["C"] = {{"Type", "AWS::CloudWatch::CompositeAlarm"},
                           {"Properties", {{"AlarmName", "c"}, {"AlarmRule", rule}}}};
    CHECK_THROWS_WITH_AS(engine{model_of(u)},
                         doctest::Contains(("AlarmRule: " + expected + " in: " + rule).c_str()),
                         alarm_error);
  };
  rule_error(R"(ALARM("a))", "unclosed quote");
  rule_error(R"(ALARM("a") ANDNOT OK("a"))", "unexpected 'ANDNOT OK(\"a\")'");
  rule_error(R"(NOT)", "expected ALARM(), OK(), INSUFFICIENT_DATA(), NOT, TRUE, FALSE or '('");
  rule_error(R"(ALARM "a")", "missing '(' after a state function");
}

TEST_CASE("metric math: + - * /, DIFF, RATE, FILL, IF, MAX/MIN over series") {
  using P = std::pair<std::optional<double>, std::optional<double>>;
  const std::optional<double> none;
  // (v - t) / t: the generalization gap ratio from raw losses.
  CHECK(run_math(math_template("(v - t) / t", "GreaterThanThreshold", 0.5), {P{1.0, 1.2}}) == OK);
  CHECK(run_math(math_template("(v - t) / t", "GreaterThanThreshold", 0.5), {P{1.0, 1.6}}) ==
        ALARM);
  CHECK(run_math(math_template("-t * 2 + v", "LessThanThreshold", 0), {P{1.0, 1.5}}) == ALARM);
  // DIFF: the validation loss rose since the previous datapoint, even with a gap.
  CHECK(run_math(math_template("DIFF(v)", "GreaterThanThreshold", 0),
                 {P{1, 0.5}, P{1, none}, P{1, 0.7}}) == ALARM);
  CHECK(run_math(math_template("DIFF(v)", "GreaterThanThreshold", 0), {P{1, 0.7}, P{1, 0.5}}) ==
        OK);
  // RATE: per second; +0.6 over two minutes = 0.005/s.
  CHECK(run_math(math_template("RATE(v)", "GreaterThanOrEqualToThreshold", 0.005),
                 {P{1, 0.1}, P{1, none}, P{1, 0.7}}) == ALARM);
  CHECK(run_math(math_template("RATE(v)", "GreaterThanThreshold", 0.006),
                 {P{1, 0.1}, P{1, none}, P{1, 0.7}}) == OK);
  // FILL: a missing V becomes 5 (breaching) or repeats the last value.
  CHECK(run_math(math_template("FILL(v, 5)", "GreaterThanThreshold", 1), {P{1, 0.5}, P{1, none}}) ==
        ALARM);
  CHECK(run_math(math_template("FILL(v, REPEAT)", "GreaterThanThreshold", 1),
                 {P{1, 0.5}, P{1, none}}) == OK);
  // IF(condition, a, b)
  CHECK(run_math(math_template("IF(v > t, 1, 0)", "GreaterThanOrEqualToThreshold", 1), {P{1, 2}}) ==
        ALARM);
  CHECK(run_math(math_template("IF(v > t AND t > 0, 1, 0)", "GreaterThanOrEqualToThreshold", 1),
                 {P{1, 0.5}}) == OK);
  // MAX / MIN over an array, per period; MAX of one series is a scalar over the range.
  CHECK(run_math(math_template("MAX([t, v])", "GreaterThanOrEqualToThreshold", 3), {P{3, 1}}) ==
        ALARM);
  CHECK(run_math(math_template("MIN([t, v])", "GreaterThanOrEqualToThreshold", 3), {P{3, 1}}) ==
        OK);
  CHECK(run_math(math_template("v / MAX(v)", "LessThanThreshold", 0.5), {P{1, 4}, P{1, 1}}) ==
        ALARM);
  // Division by zero gives no datapoint, and missing data applies.
  CHECK(run_math(math_template("v / t", "GreaterThanThreshold", 0, "breaching"), {P{0, 1}}) ==
        ALARM);
  CHECK(run_math(math_template("v / t", "GreaterThanThreshold", 0, "notBreaching"), {P{0, 1}}) ==
        OK);
}
