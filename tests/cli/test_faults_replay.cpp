// Fault injection (ctest label "fault"), replay and watch: timestamps far
// in the future and the past, NaN, Infinity and 1.79e308 under every
// statistic. Each command runs under `timeout`, so a hang fails the test
// instead of stalling the suite (issue #12: H3, M1).
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#ifndef FITWATCH_CLI
#error "FITWATCH_CLI must name the fitwatch binary"
#endif

using fitwatch::test::lines_of;
using fitwatch::test::run_command;
using nlohmann::json;

namespace {

const std::string cli = "timeout 60 " + std::string(FITWATCH_CLI);
const std::string tmpl = std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml";
const std::string params = " --param TrainingJobName=j --param TeamEmails=a@example.com";
constexpr std::int64_t t0 = 1750000000000;  // 2025-06-15
constexpr int timed_out = 124;              // timeout(1)'s exit code

// An EMF line with metric `name` = `value` (raw JSON text) for job j.
std::string line(std::int64_t ts, const std::string& value,
                 const std::string& name = "OverfittingDetected") {
  return R"({"_aws":{"Timestamp":)" + std::to_string(ts) +
         R"(,"CloudWatchMetrics":[{"Namespace":"FitWatch","Dimensions":[["TrainingJobName"]],)"
         R"("Metrics":[{"Name":")" +
         name + R"("}]}]},"TrainingJobName":"j",")" + name + "\":" + value + "}";
}

// 40 lines 30 s apart, with `bad` (by line number from 1) put in place.
std::string log_with(const std::map<int, std::string>& bad) {
  std::string log;
  for (int i = 1; i <= 40; ++i) {
    const auto it = bad.find(i);
    log += (it != bad.end() ? it->second : line(t0 + i * 30000, i > 30 ? "1" : "0")) + "\n";
  }
  return log;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("fault: a timestamp in microseconds: watch passes every line and skips that one") {
  // It used to make watch step the clock minute by minute towards year
  // 57000: 4 of 40 lines went through, then nothing.
  const auto log = log_with({{5, line(t0 * 1000, "1")}});
  const auto r = run_command(cli + " watch --tail 0 --template " + tmpl + params, log);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == log);
  CHECK(has(r.err,
            "<stdin>:5: timestamp 1750000000000000 ms (not a date in years 1970..9999) "
            "is more than 2 hours after the log's clock"));
  CHECK(has(r.err, "j-fitwatch-overfitting  OK -> ALARM"));
}

TEST_CASE("fault: far-future timestamps: replay finishes and reports each skipped line") {
  const auto max = std::to_string(std::numeric_limits<std::int64_t>::max());
  const auto log =
      log_with({{3, line(4102444800000, "1")},  // 2100-01-01
                {7, line(t0 * 1000, "1")},      // microseconds
                {9, R"({"_aws":{"Timestamp":)" + max + R"(,"CloudWatchMetrics":[]}})"}});
  for (const char* command : {" replay", " watch"}) {
    INFO(command);
    const auto r = run_command(cli + command + " --tail 0 --template " + tmpl + params, log);
    REQUIRE(r.exit_code == 0);
    CHECK(has(r.err, ":3: timestamp 2100-01-01 00:00:00 UTC is more than 2 hours after"));
    CHECK(has(r.err, ":7: timestamp 1750000000000000 ms"));
    CHECK(has(r.err, ":9: timestamp " + max + " ms (not a date in years 1970..9999)"));
    CHECK(!has(r.err + r.out, "-292275055"));
    const auto report = std::string(command) == " replay" ? r.out : r.err;
    CHECK(has(report, "j-fitwatch-overfitting  OK -> ALARM"));
    if (std::string(command) == " replay")
      CHECK(has(r.out, "(40 lines, 40 EMF events, 0 invalid, 3 outside CloudWatch's time window)"));
  }
}

TEST_CASE("fault: far-past timestamps are reported and skipped by replay and watch") {
  const std::int64_t day = 24 * 3600 * 1000LL;
  const auto log = log_with({{10, line(0, "1")},                             // 1970
                             {11, line(t0 - 15 * day, "1")},                 // 15 days back
                             {12, line(t0 + 12 * 30000 - 13 * day, "0")}});  // 13: taken
  for (const char* command : {" replay", " watch"}) {
    INFO(command);
    const auto r = run_command(cli + command + " --tail 0 --template " + tmpl + params, log);
    REQUIRE(r.exit_code == 0);
    CHECK(has(r.err,
              ":10: timestamp 1970-01-01 00:00:00 UTC is more than 14 days before the "
              "log's clock (2025-06-15 15:11:10 UTC); CloudWatch Logs rejects it, skipped"));
    CHECK(has(r.err, ":11: timestamp 2025-05-31"));
    CHECK(!has(r.err, ":12:"));
    if (std::string(command) == " watch") CHECK(r.out == log);
  }
}

TEST_CASE("fault: NaN, Infinity and 1.79e308 under every statistic: no crash, no NaN") {
  // Two valid lines of 1.79e308 under Sum used to abort replay
  // (terminate ... stoi, printing Infinity); NaN and 1e999 are not JSON.
  const fitwatch::test::temp_dir dir;
  const std::string path = dir.file("stats.yaml");
  {
    std::ofstream t(path);
    t << "Resources:\n";
    for (const char* stat : {"SampleCount", "Sum", "Average", "Minimum", "Maximum", "p50"}) {
      t << "  " << (stat[0] == 'p' ? "P50" : stat) << ":\n    Type: AWS::CloudWatch::Alarm\n"
        << "    Properties:\n      AlarmName: " << stat << "\n      Namespace: FitWatch\n"
        << "      MetricName: M\n      Dimensions: [{Name: TrainingJobName, Value: j}]\n"
        << "      Statistic: " << stat << "\n      Period: 60\n      EvaluationPeriods: 1\n"
        << "      Threshold: 1\n      ComparisonOperator: GreaterThanThreshold\n";
    }
  }
  std::string log;
  for (const char* v : {"1.79e308", "1.79e308", "NaN", "Infinity", "-Infinity", "1e999",
                        "-1.79e308", "[1.79e308, 1.79e308, -1.79e308]", "null"}) {
    log += line(t0, std::string(v), "M") + "\n";
  }
  log += line(t0 + 60000, "1.79e308", "M") + "\n" + line(t0 + 60000, "1.79e308", "M") + "\n";
  for (const char* command : {" replay", " watch"}) {
    INFO(command);
    const auto r = run_command(cli + command + " --format json --tail 0 --template " + path, log);
    REQUIRE(r.exit_code == 0);
    if (std::string(command) == " watch") CHECK(r.out == log);
    for (const int bad : {3, 4, 5, 6, 9})
      CHECK(has(r.err, ":" + std::to_string(bad) + ": invalid"));
    std::map<std::string, std::string> first_reason;
    for (const auto& l : lines_of(std::string(command) == " replay" ? r.out : r.err)) {
      if (l.empty() || l[0] != '{') continue;
      const auto j = json::parse(l);
      first_reason.emplace(j["alarm"].get<std::string>(), j["reason"].get<std::string>());
      CHECK(!has(j["reason"].get<std::string>(), "NaN"));
    }
    REQUIRE(first_reason.size() == 6);
    // 1.79e308 x 2 + (1.79e308 x 2 - 1.79e308) - 1.79e308 overflows: Infinity.
    CHECK(has(first_reason["Sum"], "[Infinity ("));
    CHECK(has(first_reason["Maximum"], "[1.79E308 ("));
    CHECK(has(first_reason["Minimum"], "[-1.79E308 ("));
    CHECK(has(first_reason["SampleCount"], "[6.0 ("));
  }
}

TEST_CASE("fault: 24 years of silence in the middle of a log cost no time") {
  // Stepping minute by minute through them took minutes.
  const std::int64_t start = 1000000000000;  // 2001-09-09
  std::string log;
  for (int i = 0; i < 10; ++i) log += line(start + i * 30000, "0") + "\n";
  for (int i = 0; i < 10; ++i) log += line(t0 + i * 30000, i > 5 ? "1" : "0") + "\n";
  // --verbose: the first INSUFFICIENT_DATA -> OK, in 2001, is printed too.
  const auto r = run_command(cli + " replay --verbose --template " + tmpl + params, log);
  REQUIRE(r.exit_code != timed_out);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "2001-09-09 01:4"));
  CHECK(has(r.out, "2025-06-15 15:"));
  CHECK(has(r.out, "j-fitwatch-overfitting  OK -> ALARM"));
}
