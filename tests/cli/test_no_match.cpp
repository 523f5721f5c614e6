// replay and watch say why nothing happened (issue #13, part 5): alarms
// that read no metric of the log are named with what they expect and what
// the log holds (bounded), and exit 4; a log with no EMF event (a CSV of
// losses) gets a hint to use `fitwatch emit`.
#include <string>

#include "support.hpp"
// (after support.hpp, which brings the standard headers run_command.hpp uses)
#include "run_command.hpp"

using fitwatch::test::lines_of;
using fitwatch::test::run_command;
using nlohmann::json;

namespace {

const std::string cli = FITWATCH_CLI;
const std::string templates = std::string(FITWATCH_SOURCE_DIR) + "/templates/";
const std::string replay = cli + " replay --template " + templates +
                           "overfitting-alerts.yaml --param TeamEmails=a@example.com";
constexpr std::int64_t t0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int no_match = 4;

// An EMF line with the template's two default metrics (OverfittingDetected,
// TrainingDiverged) or only `metrics`, in namespace `ns`, for job `job`.
std::string emf(const std::string& job, std::int64_t ts, const std::string& ns = "FitWatch",
                const json& metrics = json::array({"OverfittingDetected", "TrainingDiverged"})) {
  json defs = json::array();
  json line = {{"TrainingJobName", job}};
  for (const auto& m : metrics) {
    defs.push_back({{"Name", m}});
    line[m.get<std::string>()] = 1;
  }
  line["_aws"] = {{"Timestamp", ts},
                  {"CloudWatchMetrics",
                   {{{"Namespace", ns},
                     {"Dimensions", json::array({json::array({"TrainingJobName"})})},
                     {"Metrics", defs}}}}};
  return line.dump();
}

std::string log_of(const std::string& job, int lines, const std::string& eol = "\n") {
  std::string log;
  for (int i = 0; i < lines; ++i) log += emf(job, t0 + i * 60000) + eol;
  return log;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("no match: a log of another job names each alarm, the job it expects and the log's") {
  const auto r = run_command(replay + " --param TrainingJobName=my-job", log_of("other-job", 5));
  CHECK(r.exit_code == no_match);
  CHECK(has(r.err, "no alarm read any datapoint of the log"));
  for (const char* alarm : {"my-job-fitwatch-overfitting", "my-job-fitwatch-divergence"}) {
    INFO(alarm);
    CHECK(has(r.err, std::string("alarm ") + alarm + " expects FitWatch / "));
  }
  CHECK(
      has(r.err,
          "expects FitWatch / OverfittingDetected with {TrainingJobName=my-job}\n"
          "    the log has FitWatch / OverfittingDetected only with {TrainingJobName=other-job}"));
  CHECK(has(r.out, "0 emails"));  // the summary is still there

  SUBCASE("the same job matches: no message, exit 0") {
    const auto ok = run_command(replay + " --param TrainingJobName=my-job", log_of("my-job", 5));
    CHECK(ok.exit_code == 0);
    CHECK_FALSE(has(ok.err, "read no datapoint"));
    CHECK_FALSE(has(ok.err, "no alarm read"));
  }
  SUBCASE("watch says the same at exit, and every line still passes through") {
    const auto w = run_command(cli + " watch --template " + templates +
                                   "overfitting-alerts.yaml --param TeamEmails=a@example.com "
                                   "--param TrainingJobName=my-job",
                               log_of("other-job", 5));
    CHECK(w.exit_code == no_match);
    CHECK(lines_of(w.out).size() == 5);
    CHECK(has(w.err, "only with {TrainingJobName=other-job}"));
  }
  SUBCASE("CR/LF line ends: the values shown carry no CR") {
    const auto c =
        run_command(replay + " --param TrainingJobName=my-job", log_of("other-job", 5, "\r\n"));
    CHECK(c.exit_code == no_match);
    CHECK(has(c.err, "only with {TrainingJobName=other-job}\n"));
    CHECK_FALSE(has(c.err, "\r"));
  }
}

TEST_CASE("no match: another namespace or metric name is named") {
  SUBCASE("namespace") {
    std::string log;
    for (int i = 0; i < 3; ++i) log += emf("j", t0 + i * 60000, "MyTeam/Training") + "\n";
    const auto r = run_command(replay + " --param TrainingJobName=j", log);
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err, "the log has OverfittingDetected only in namespace MyTeam/Training"));
  }
  SUBCASE("metric names") {
    const auto r =
        run_command(replay + " --param TrainingJobName=j",
                    emf("j", t0, "FitWatch", json::array({"TrainLoss", "ValidationLoss"})) + "\n");
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err,
              "the log has no metric OverfittingDetected; namespace FitWatch has TrainLoss, "
              "ValidationLoss"));
  }
  SUBCASE("Metrics Insights (fleet template): the SCHEMA's namespace") {
    std::string log;
    for (int i = 0; i < 3; ++i) log += emf("j", t0 + i * 60000, "Other") + "\n";
    const auto r = run_command(cli + " replay --template " + templates +
                                   "fleet-alerts.yaml --param TeamEmails=a@example.com",
                               log);
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err,
              "expects FitWatch / OverfittingDetected with the dimension names (TrainingJobName) "
              "(Metrics Insights SCHEMA)"));
    CHECK(has(r.err, "the log has OverfittingDetected only in namespace Other"));
  }
}

TEST_CASE("no match: an alarm that reads nothing while another reads is a note, exit 0") {
  std::string log;
  for (int i = 0; i < 3; ++i)
    log += emf("j", t0 + i * 60000, "FitWatch", json::array({"OverfittingDetected"})) + "\n";
  const auto r = run_command(replay + " --param TrainingJobName=j", log);
  CHECK(r.exit_code == 0);
  CHECK(has(r.err,
            "note: 1 of 2 alarms read no datapoint of the log:\n"
            "  alarm j-fitwatch-divergence expects FitWatch / TrainingDiverged"));
  CHECK_FALSE(has(r.err, "j-fitwatch-overfitting expects"));

  SUBCASE("no note with --format json: watch's stderr stays one JSON object per line") {
    const auto w = run_command(cli + " watch --format json --template " + templates +
                                   "overfitting-alerts.yaml --param TeamEmails=a@example.com "
                                   "--param TrainingJobName=j",
                               log);
    CHECK(w.exit_code == 0);
    const auto lines = lines_of(w.err);
    CHECK_FALSE(lines.empty());
    for (const auto& l : lines) CHECK(json::parse(l, nullptr, false).is_object());
  }
}

TEST_CASE("no EMF event: a CSV of losses gets a hint to use fitwatch emit, exit 4") {
  for (const char* eol : {"\n", "\r\n"}) {
    INFO("line end " << json(eol).dump());
    const std::string csv = std::string("epoch,train_loss,val_loss") + eol + "1,0.9,1.0" + eol +
                            "2,0.7,0.8" + eol + "3,0.5,nan" + eol;
    const auto r = run_command(replay + " --param TrainingJobName=j", csv);
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err, "no EMF event to evaluate in the log (4 lines: 4 plain, 0 invalid EMF)"));
    CHECK(has(r.err,
              "this looks like a CSV of losses: turn it into EMF with `fitwatch emit` "
              "(see fitwatch emit --help)"));
  }
  SUBCASE("JSON evaluations without _aws") {
    const auto r = run_command(replay + " --param TrainingJobName=j",
                               "{\"epoch\":1,\"train_loss\":0.5,\"val_loss\":0.6}\n");
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err, "JSON objects without `_aws`"));
    CHECK(has(r.err, "fitwatch emit"));
  }
  SUBCASE("plain text") {
    const auto r = run_command(replay + " --param TrainingJobName=j", "starting\nepoch 1 done\n");
    CHECK(r.exit_code == no_match);
    CHECK_FALSE(has(r.err, "CSV"));
    CHECK(has(r.err, "an EMF event is a JSON object with an `_aws` member"));
  }
  SUBCASE("only invalid EMF: counted, no hint") {
    const auto r = run_command(replay + " --param TrainingJobName=j", "{\"_aws\":{}}\n");
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err, "(1 line: 0 plain, 1 invalid EMF)"));
    CHECK_FALSE(has(r.err, "hint:"));
  }
}

TEST_CASE("no EMF event: an empty log says so, for replay and watch") {
  for (const char* command : {" replay", " watch"}) {
    INFO(command);
    const auto r = run_command(cli + command + " --template " + templates +
                                   "overfitting-alerts.yaml --param TeamEmails=a@example.com "
                                   "--param TrainingJobName=j",
                               "");
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err, "the log is empty"));
  }
}

TEST_CASE("no match: 10,000 job names or namespaces in the log give a bounded message") {
  SUBCASE("dimension values") {
    std::string log;
    for (int i = 0; i < 10000; ++i) log += emf("job-" + std::to_string(10000 + i), t0 + i) + "\n";
    const auto r = run_command(replay + " --param TrainingJobName=j", log);
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err,
              "only with {TrainingJobName=job-10000}, {TrainingJobName=job-10001}, "
              "{TrainingJobName=job-10002}, {TrainingJobName=job-10003}, "
              "{TrainingJobName=job-10004} and 9995 more\n"));
    CHECK(r.err.size() < 2000);
  }
  SUBCASE("namespaces") {
    std::string log;
    for (int i = 0; i < 10000; ++i)
      log += emf("j", t0 + i, "ns" + std::to_string(10000 + i), json::array({"Loss"})) + "\n";
    const auto r = run_command(replay + " --param TrainingJobName=j", log);
    CHECK(r.exit_code == no_match);
    CHECK(has(r.err,
              "the log has no namespace FitWatch; it has ns10000 (1 metric), ns10001 (1 "
              "metric), ns10002 (1 metric), ns10003 (1 metric), ns10004 (1 metric) and "
              "9995 more\n"));
    CHECK(r.err.size() < 2000);
  }
}

TEST_CASE("no match: metric names beyond the 10,000 kept are said to be more") {
  std::string log;
  for (int i = 0; i < 10010; ++i)
    log += emf("j", t0 + i, "FitWatch", json::array({"m" + std::to_string(10000 + i)})) + "\n";
  const auto r = run_command(replay + " --param TrainingJobName=j", log);
  CHECK(r.exit_code == no_match);
  CHECK(has(r.err,
            "namespace FitWatch has m10000, m10001, m10002, m10003, m10004 and 9995 more "
            "(and more, not all kept)\n"));
  CHECK(r.err.size() < 2000);
}

TEST_CASE("no match: a long value from the log is cut, control characters never reach it") {
  const std::string job = "evil" + std::string(200, 'x');
  auto r = run_command(replay + " --param TrainingJobName=j", log_of(job, 2));
  CHECK(r.exit_code == no_match);
  CHECK(has(r.err, "{TrainingJobName=evil" + std::string(76, 'x') + "...}"));
  // A dimension value with a control character is an event CloudWatch
  // refuses (API_Dimension): reported as invalid, its value never printed.
  r = run_command(replay + " --param TrainingJobName=j", log_of("evil\x1b[31m" + job, 2));
  CHECK(r.exit_code == no_match);
  CHECK(has(r.err,
            "invalid EMF, skipped: dimension \"TrainingJobName\" value contains an ASCII "
            "control character"));
  CHECK_FALSE(has(r.err, "\x1b"));
}

TEST_CASE("a topic no given template creates is named in a note, and gets no email") {
  const std::string team = "arn:aws:sns:us-east-1:123456789012:fitwatch-team";
  const std::string job = cli + " replay --template " + templates +
                          "overfitting-alerts.yaml --param TrainingJobName=my-job --param ";
  // The job stack on the team topic, without the team stack's template.
  auto r = run_command(job + "TeamTopicArn=" + team, log_of("my-job", 5));
  CHECK(r.exit_code == 0);
  // The alarms notify the team stack's alarm topic (issue #23: <team>-alarms).
  CHECK(has(r.err, "notifies " + team + "-alarms, a topic no given template creates"));
  CHECK(has(r.out, " 0 emails"));
  // With the team stack's template: no note, and the member's emails.
  r = run_command(cli + " replay --template " + templates + "team.yaml --template " + templates +
                      "overfitting-alerts.yaml --param TrainingJobName=my-job --param "
                      "TeamEmails=a@example.com --param TeamTopicArn=" +
                      team,
                  log_of("my-job", 5));
  CHECK(r.exit_code == 0);
  CHECK_FALSE(has(r.err, "no given template creates"));
  CHECK_FALSE(has(r.out, " 0 emails"));
  // A typo in the ARN (another Region) is named too, once.
  r = run_command(cli + " replay --template " + templates + "team.yaml --template " + templates +
                      "overfitting-alerts.yaml --param TrainingJobName=my-job --param "
                      "TeamEmails=a@example.com --param "
                      "TeamTopicArn=arn:aws:sns:eu-west-1:123456789012:fitwatch-team",
                  log_of("my-job", 5));
  const auto note = r.err.find("eu-west-1:123456789012:fitwatch-team-alarms, a topic no given");
  CHECK(note != std::string::npos);
  CHECK(r.err.find("eu-west-1:123456789012:fitwatch-team-alarms, a topic no given", note + 1) ==
        std::string::npos);
}

TEST_CASE("replay's output never carries control characters of a job name from the log") {
  // Such a job cannot exist in CloudWatch (API_Dimension): the lines are
  // invalid EMF, reported by line number, and nothing raw is printed.
  const std::string job = "a\r\nb\x1b[2J";
  const auto r = run_command(cli + " replay --template " + templates +
                                 "fleet-alerts.yaml --param TeamEmails=a@example.com",
                             log_of(job, 5));
  CHECK(r.exit_code == no_match);
  CHECK(has(r.err, "<stdin>:1: invalid EMF, skipped: dimension \"TrainingJobName\" value"));
  CHECK_FALSE(has(r.out + r.err, "\x1b"));
  CHECK_FALSE(has(r.out, "\r"));
}
