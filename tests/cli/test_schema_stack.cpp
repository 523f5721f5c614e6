// `fitwatch schema --template FILE`: what one stack holds that AWS bills,
// with the template's conditions evaluated (docs/deploy.md, "Cost").
#include <fstream>
#include <string>
#include <vector>

#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#ifndef FITWATCH_CLI
#error "FITWATCH_CLI must name the fitwatch binary"
#endif

using fitwatch::test::run_command;
using nlohmann::json;

namespace {
const std::string cli = FITWATCH_CLI;
const std::string templates = std::string(FITWATCH_SOURCE_DIR) + "/templates/";
const std::string topic = " --param TeamTopicArn=arn:aws:sns:us-east-1:123456789012:fitwatch-team";
}  // namespace

TEST_CASE("schema --template: a job stack's alarms, composite alarm and dashboard") {
  const auto r = run_command(cli + " schema --template " + templates +
                             "overfitting-alerts.yaml --param TrainingJobName=j" + topic);
  REQUIRE(r.exit_code == 0);
  const auto s = json::parse(r.out);
  CHECK(s["metric_alarms"] ==
        json{{"standard_resolution", 0}, {"high_resolution", 2}, {"metrics_insights", 0}});
  CHECK(s["alarm_metrics"]["high_resolution"] == 2);
  CHECK(s["composite_alarms"] == 1);
  CHECK(s["dashboards"] == 1);
  CHECK(s["sns_topics"] == 0);  // the team's topic, not one of its own
  CHECK(s["resources"]["AWS::CloudWatch::Alarm"] == 2);

  // The conditions follow the parameters: standard resolution, an extra
  // rule turned on, a topic of its own with its subscriptions.
  const auto std_res =
      run_command(cli + " schema --template " + templates +
                  "overfitting-alerts.yaml --param TrainingJobName=j" + topic +
                  " --param AlarmResolution=standard --param RiseStreakThreshold=3");
  REQUIRE(std_res.exit_code == 0);
  const auto t = json::parse(std_res.out);
  CHECK(t["metric_alarms"]["standard_resolution"] == 3);
  CHECK(t["metric_alarms"]["high_resolution"] == 0);
  const auto own = run_command(cli + " schema --template " + templates +
                               "overfitting-alerts.yaml --param TrainingJobName=j "
                               "--param TeamEmails=a@example.com,b@example.org");
  REQUIRE(own.exit_code == 0);
  // Its own team topic and the alarm topic the formatter function reads.
  CHECK(json::parse(own.out)["sns_topics"] == 2);
  CHECK(json::parse(own.out)["lambda_functions"] == 1);
  CHECK(json::parse(own.out)["email_subscriptions"] == 2);
}

TEST_CASE("schema --template: the fleet's Metrics Insights alarms, auto-stop's function") {
  auto r = run_command(cli + " schema --template " + templates + "fleet-alerts.yaml" + topic);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["metric_alarms"]["metrics_insights"] == 2);
  CHECK(json::parse(r.out)["alarm_metrics"] ==
        json{{"standard_resolution", 0}, {"high_resolution", 0}});
  r = run_command(cli + " schema --template " + templates +
                  "auto-stop.yaml --param TopicArn=arn:aws:sns:us-east-1:123456789012:t "
                  "--param TrainingJobNamePrefix=fitwatch-");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out)["lambda_functions"] == 1);
}

TEST_CASE("schema --template: a metric-math alarm counts each metric it reads") {
  const fitwatch::test::temp_dir dir;
  const std::string path = dir.file("math.yaml");
  std::ofstream(path) << "Resources:\n  A:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n"
                         "      AlarmName: a\n      EvaluationPeriods: 1\n      Threshold: 0\n"
                         "      ComparisonOperator: GreaterThanThreshold\n      Metrics:\n"
                         "        - Id: m\n          ReturnData: false\n          MetricStat:\n"
                         "            Metric: {Namespace: N, MetricName: M}\n"
                         "            Period: 10\n            Stat: Maximum\n"
                         "        - Id: n\n          ReturnData: false\n          MetricStat:\n"
                         "            Metric: {Namespace: N, MetricName: O}\n"
                         "            Period: 10\n            Stat: Maximum\n"
                         "        - Id: e\n          Expression: m + n\n";
  const auto r = run_command(cli + " schema --template " + path);
  REQUIRE(r.exit_code == 0);
  const auto s = json::parse(r.out);
  CHECK(s["metric_alarms"]["high_resolution"] == 1);
  CHECK(s["alarm_metrics"]["high_resolution"] == 2);
}

TEST_CASE("schema --template: bad flags and templates are errors with exit 2") {
  const fitwatch::test::temp_dir dir;
  const std::string bad = dir.file("bad.yaml");
  std::ofstream(bad) << "Resources: [unclosed\n";
  const std::vector<std::string> cases = {
      " schema --template " + bad,
      " schema --template " + dir.file("missing.yaml"),
      " schema --param A=B",
      " schema --template " + templates + "team.yaml --template " + templates + "team.yaml",
      " schema FitWatch --template " + templates + "team.yaml",
      " schema --template " + templates + "team.yaml --param novalue",
      " schema --template",
  };
  for (const auto& c : cases) {
    CAPTURE(c);
    const auto r = run_command(cli + c);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("fitwatch schema: ", 0) == 0);
  }
}
