// replay and watch in text are quiet by default (issue #27): they print the
// transitions a person acts on (to ALARM, back to OK from ALARM, and any
// that emails); --verbose prints every one; --format json keeps every one.
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#ifndef FITWATCH_CLI
#error "FITWATCH_CLI must name the fitwatch binary"
#endif

using fitwatch::test::lines_of;
using fitwatch::test::run_command;
using fitwatch::test::verdict_line;
using nlohmann::json;

namespace {
const std::string cli = FITWATCH_CLI;
const std::string tmpl = std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml";
const std::string params = " --param TrainingJobName=j --param TeamEmails=a@example.com";

// Verdicts 30 s apart from t0; a gap of `gap_ms` before the last `after_gap`.
std::string log_of(const std::vector<double>& verdicts, std::size_t after_gap = 0,
                   std::int64_t gap_ms = 0) {
  const std::int64_t t0 = 1750000000000;
  std::string log;
  std::int64_t t = t0;
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    if (after_gap > 0 && i == verdicts.size() - after_gap) t += gap_ms;
    log += verdict_line(t, verdicts[i]) + "\n";
    t += 30000;
  }
  return log;
}

using change =
    std::tuple<std::string, std::string, std::string, std::string>;  // time alarm old new

// The transitions of the text output: "<time>  <alarm>  <OLD> -> <NEW>[  (epoch N)]".
std::vector<change> text_transitions(const std::string& text) {
  std::vector<change> out;
  for (auto l : lines_of(text)) {
    if (!l.empty() && l.back() == '\n') l.pop_back();
    if (l.empty() || l[0] == ' ' || l.find(" -> ") == std::string::npos) continue;
    // Fields are separated by two spaces (the time has single spaces).
    std::vector<std::string> f;
    for (std::size_t at = 0; at != std::string::npos;) {
      const auto next = l.find("  ", at);
      f.push_back(l.substr(at, next == std::string::npos ? next : next - at));
      at = next == std::string::npos ? next : next + 2;
    }
    if (f.size() < 3) continue;
    const auto arrow = f[2].find(" -> ");
    const std::string time = f[0], alarm = f[1], old_state = f[2].substr(0, arrow),
                      new_state = f[2].substr(arrow + 4);
    out.emplace_back(time, alarm, old_state, new_state);
  }
  return out;
}

struct json_transition {
  change c;
  bool emailed;
};

std::vector<json_transition> json_transitions(const std::string& text) {
  std::vector<json_transition> out;
  for (const auto& l : lines_of(text)) {
    const auto j = json::parse(l);
    out.push_back({change{j["time"].get<std::string>(), j["alarm"].get<std::string>(),
                          j["old_state"].get<std::string>(), j["new_state"].get<std::string>()},
                   !j["emails"].empty()});
  }
  return out;
}

// What the text output must show, from every transition (JSON): the rule.
std::vector<change> expected_quiet(const std::vector<json_transition>& all) {
  std::vector<change> out;
  std::set<std::string> in_alarm;
  for (const auto& t : all) {
    const auto& [time, alarm, old_state, new_state] = t.c;
    bool show = t.emailed;
    if (new_state == "ALARM") {
      in_alarm.insert(alarm);
      show = true;
    } else if (new_state == "OK" && in_alarm.erase(alarm) > 0) {
      show = true;
    }
    if (show) out.push_back(t.c);
  }
  return out;
}

std::size_t count_of(const std::vector<change>& cs, const std::string& old_state,
                     const std::string& new_state) {
  std::size_t n = 0;
  for (const auto& c : cs) n += std::get<2>(c) == old_state && std::get<3>(c) == new_state;
  return n;
}
}  // namespace

TEST_CASE("replay: text shows changes to ALARM and returns to OK from ALARM, not the start") {
  // OK, then the verdict turns 1, then back to 0. (No --tail 0: the job's
  // alarms read a range of 36 periods, so that a late datapoint still
  // fires them; they return to OK once the 1s have left that range.)
  const auto log = log_of({0, 0, 0, 1, 1, 0, 0});
  const auto quiet = run_command(cli + " replay --template " + tmpl + params, log);
  const auto verbose = run_command(cli + " replay --verbose --template " + tmpl + params, log);
  const auto all = run_command(cli + " replay --format json --template " + tmpl + params, log);
  REQUIRE(quiet.exit_code == 0);
  REQUIRE(verbose.exit_code == 0);
  REQUIRE(all.exit_code == 0);
  const auto every = json_transitions(all.out);
  const auto shown = text_transitions(quiet.out);
  std::vector<change> every_change;
  for (const auto& t : every) every_change.push_back(t.c);

  // The start (INSUFFICIENT_DATA -> OK of every alarm) is in JSON and
  // --verbose, not in the default text.
  CHECK(count_of(every_change, "INSUFFICIENT_DATA", "OK") >= 2);
  CHECK(count_of(shown, "INSUFFICIENT_DATA", "OK") == 0);
  CHECK(count_of(shown, "OK", "ALARM") >= 2);  // the verdict alarm and the composite
  CHECK(count_of(shown, "ALARM", "OK") >= 2);
  CHECK(shown == expected_quiet(every));
  CHECK(text_transitions(verbose.out) == every_change);
  CHECK(quiet.out.find("j-fitwatch-alert  OK -> ALARM") != std::string::npos);
  CHECK(quiet.out.find("email to a@example.com") != std::string::npos);

  // The summary counts every transition and says how many were left out.
  const auto hidden = every.size() - shown.size();
  REQUIRE(hidden > 0);
  CHECK(quiet.out.find(std::to_string(every.size()) + " transitions (" + std::to_string(hidden) +
                       " not shown: --verbose prints every one), 1 emails") != std::string::npos);
  CHECK(verbose.out.find(std::to_string(every.size()) + " transitions, 1 emails") !=
        std::string::npos);
}

TEST_CASE("replay: a healthy run prints no transition, only the summary") {
  const auto log = log_of({0, 0, 0, 0, 0});
  const auto r = run_command(cli + " replay --tail 0 --template " + tmpl + params, log);
  REQUIRE(r.exit_code == 0);
  CHECK(text_transitions(r.out).empty());
  CHECK(lines_of(r.out).size() == 1);
  CHECK(r.out.find(" not shown: --verbose prints every one), 0 emails") != std::string::npos);
}

TEST_CASE("replay: a return to OK after ALARM and INSUFFICIENT_DATA in between is shown") {
  // An alarm whose missing data makes it INSUFFICIENT_DATA: ALARM, then 20
  // minutes without a line, then OK.
  const fitwatch::test::temp_dir dir;
  const std::string path = dir.file("missing.yaml");
  std::ofstream(path)
      << "Resources:\n  A:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n"
         "      AlarmName: verdict\n      Namespace: FitWatch\n"
         "      MetricName: OverfittingDetected\n"
         "      Dimensions: [{Name: TrainingJobName, Value: j}]\n"
         "      Statistic: Maximum\n      Period: 60\n      EvaluationPeriods: 1\n"
         "      Threshold: 1\n      ComparisonOperator: GreaterThanOrEqualToThreshold\n"
         "      TreatMissingData: missing\n";
  const auto log = log_of({0, 1, 1, 0}, 1, 20 * 60 * 1000);
  const auto all = run_command(cli + " replay --format json --tail 0 --template " + path, log);
  const auto quiet = run_command(cli + " replay --tail 0 --template " + path, log);
  REQUIRE(all.exit_code == 0);
  REQUIRE(quiet.exit_code == 0);
  const auto every = json_transitions(all.out);
  std::vector<change> every_change;
  for (const auto& t : every) every_change.push_back(t.c);
  const auto shown = text_transitions(quiet.out);
  REQUIRE(count_of(every_change, "ALARM", "INSUFFICIENT_DATA") == 1);
  REQUIRE(count_of(every_change, "INSUFFICIENT_DATA", "OK") == 2);  // the start and the return
  CHECK(shown == expected_quiet(every));
  CHECK(count_of(shown, "ALARM", "INSUFFICIENT_DATA") == 0);
  CHECK(count_of(shown, "INSUFFICIENT_DATA", "OK") == 1);  // the return only
  CHECK(std::get<3>(shown.back()) == "OK");
}

TEST_CASE("watch: quiet on stderr by default, every transition with --verbose") {
  const auto log = log_of({0, 0, 0, 1, 1, 0, 0});
  const auto quiet = run_command(cli + " watch --tail 0 --template " + tmpl + params, log);
  const auto verbose =
      run_command(cli + " watch --verbose --tail 0 --template " + tmpl + params, log);
  const auto all =
      run_command(cli + " watch --format json --tail 0 --template " + tmpl + params, log);
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.out == log);
  CHECK(verbose.out == log);
  const auto every = json_transitions(all.err);
  std::vector<change> every_change;
  for (const auto& t : every) every_change.push_back(t.c);
  CHECK(text_transitions(quiet.err) == expected_quiet(every));
  CHECK(count_of(text_transitions(quiet.err), "INSUFFICIENT_DATA", "OK") == 0);
  CHECK(text_transitions(verbose.err) == every_change);
}

TEST_CASE("replay and watch: --verbose is listed in the usage") {
  const auto r = run_command(cli + " replay --help");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--verbose") != std::string::npos);
}
