// The HTML report (tools/report): escaping, the atomic write, decimation,
// and `replay --report` errors. What a browser draws is checked by
// tests/report/test_report_browser.py.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "emf/inspect.hpp"
#include "report/report.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

using fitwatch::alarms::template_model;
using fitwatch::emf::extracted_event;
using fitwatch::emf::metric_picks;
using fitwatch::report::run_report;

namespace {

extracted_event event_of(const std::string& job, std::int64_t epoch, double train, double val) {
  extracted_event e;
  e.timestamp_ms = 1750000000000 + epoch * 1000;
  e.epoch = epoch;
  for (const auto& [name, v] : {std::pair{"TrainLoss", train}, std::pair{"ValidationLoss", val},
                                std::pair{"EvaluationsSinceBest", 0.0}}) {
    e.series.push_back({"FitWatch", name, {{"TrainingJobName", job}}, {v}});
  }
  return e;
}

std::string html_of(const run_report& r) {
  std::ostringstream out;
  r.write_html(out);
  return out.str();
}

// The page of one job with two evaluations: losses a, then b.
std::string page_of_two(double a, double b) {
  template_model model;
  run_report r{model};
  r.add_event(event_of("j", 1, a, a));
  r.add_event(event_of("j", 2, b, b));
  return html_of(r);
}

// The value of attribute `attr` of the element with id `id` (no std::regex:
// it recurses per character and overflows the stack on a large page).
std::string attribute(const std::string& html, const std::string& id, const std::string& attr) {
  const auto at = html.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "<none>";
  const auto tag = html.substr(at, html.find('>', at) - at);
  const auto a = tag.find(" " + attr + "=\"");
  if (a == std::string::npos) return "<none>";
  const auto from = a + attr.size() + 3;
  return tag.substr(from, tag.find('"', from) - from);
}

}  // namespace

TEST_CASE("report: the first email shows the delay in evaluations and the detector's reason") {
  // Best at epoch 3; the verdict at epoch 6 (its reason the rule's words),
  // then the detector's reason follows the run; the email at epoch 8.
  template_model model;
  run_report r{model};
  const std::string rule = "validation loss 22% above its best (evaluation 3) for 2 evaluations";
  for (std::int64_t epoch = 1; epoch <= 10; ++epoch) {
    auto e = event_of("j", epoch, 1.0, 1.0);
    const double since = epoch <= 3 ? 0.0 : static_cast<double>(epoch - 3);
    e.series[2].values = {since};  // EvaluationsSinceBest
    e.series.push_back({"FitWatch",
                        "GeneralizationLoss",
                        {{"TrainingJobName", "j"}},
                        {epoch <= 3 ? 0.0 : 10.0 * static_cast<double>(epoch - 3)}});
    if (epoch == 6) e.reason = rule;
    if (epoch > 6)
      e.reason = "now <" + std::to_string(epoch) + ">; overfitting since evaluation 6: " + rule;
    r.add_event(e);
  }
  fitwatch::alarms::transition t;
  t.time_ms = 1750000000000 + 8 * 1000 + 500;  // after epoch 8's line, before epoch 9's
  t.alarm_name = "j-fitwatch-alert";
  t.new_state = fitwatch::alarms::alarm_state::alarm;
  r.add_transition(t, {"team@example.com"});
  const auto html = html_of(r);
  CHECK(attribute(html, "j0-at-alarm", "data-since-best") == "5");
  CHECK(html.find("<b>5 evaluations</b> after the best, generalization loss 50 %") !=
        std::string::npos);
  CHECK(html.find("The detector's reason (epoch 6): <q id=\"j0-reason\">" + rule + "</q>") !=
        std::string::npos);
  CHECK(html.find("now &lt;") == std::string::npos);  // one string per verdict, escaped if shown
}

TEST_CASE("report: every string from the log is escaped, in text and attributes") {
  template_model model;
  fitwatch::alarms::transition t;
  t.time_ms = 1750000005000;
  t.alarm_name = "a\"<b>";
  t.reason = "</title><script>x()</script>";
  model.stack_name = "<stack>";
  run_report r{model};
  r.add_event(event_of("</svg><script>alert(1)</script>", 1, 1.0, 1.0));
  r.add_transition(t, {"x@example.com\"><script>"});
  const auto html = html_of(r);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("data-job=\"&lt;/svg&gt;") != std::string::npos);
  CHECK(html.find("&lt;/title&gt;&lt;script&gt;") != std::string::npos);
  CHECK(html.find("&lt;stack&gt;") != std::string::npos);
}

TEST_CASE("report: 10,000 evaluations are decimated for drawing, all counted") {
  template_model model;
  run_report r{model};
  for (int i = 1; i <= 10000; ++i) r.add_event(event_of("j", i, 1.0 / i, 0.5 + 0.1 * std::sin(i)));
  const auto html = html_of(r);
  CHECK(attribute(html, "j0-validation", "data-points") == "10000");
  const int drawn = std::stoi(attribute(html, "j0-validation", "data-drawn"));
  CHECK(drawn > 1000);   // the outline of every pixel column...
  CHECK(drawn <= 4000);  // ...in at most 4 vertices each
}

TEST_CASE("report: each job of the log gets its own section") {
  template_model model;
  run_report r{model};
  r.add_event(event_of("a", 1, 1, 1));
  r.add_event(event_of("b", 1, 1, 1));
  r.add_event(event_of("a", 2, 1, 1));
  const auto html = html_of(r);
  CHECK(attribute(html, "j0-train", "data-points") == "2");
  CHECK(attribute(html, "j1-train", "data-points") == "1");
  CHECK(attribute(html, "summary", "data-jobs") == "2");
}

TEST_CASE("replay --report: a report that cannot be written is a clear error, exit 2") {
  fitwatch::test::temp_dir dir;
  const auto res = fitwatch::test::run_command(
      std::string(FITWATCH_CLI) + " replay --template " + FITWATCH_SOURCE_DIR +
          "/templates/overfitting-alerts.yaml --param TrainingJobName=j --param "
          "TeamEmails=a@example.com --report " +
          dir.file("no/such/dir/r.html"),
      "");
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("fitwatch replay: cannot write report") != std::string::npos);
}

TEST_CASE("metric picks: found by name among names of equal length, the first of equal names") {
  const metric_picks picks({"Loss", "Gap", "LossB", "Lost", "Loss", ""});
  CHECK(picks.size() == 6);
  CHECK(picks.find("Loss") == 0);  // not 4
  CHECK(picks.find("Lost") == 3);
  CHECK(picks.find("Gap") == 1);
  CHECK(picks.find("LossB") == 2);
  CHECK(picks.find("") == 5);
  for (const std::string& none : std::vector<std::string>{
           "Los", "Lose", "LossBB", std::string(300, 'L'), std::string("Los\0", 4)})
    CHECK(picks.find(none) == picks.size());
  const metric_picks empty({});
  CHECK(empty.find("Loss") == 0);
}

TEST_CASE("report: a line read by position gives the same page as read by name") {
  // One line with every metric the report reads (two dimension sets, one
  // an array), and the same line's series: the two pages must be equal.
  const std::string line =
      R"({"_aws":{"Timestamp":1750000001000,"CloudWatchMetrics":[{"Namespace":"FitWatch",)"
      R"("Dimensions":[["TrainingJobName"],["TrainingJobName","Host"]],"Metrics":[)"
      R"({"Name":"Other"},{"Name":"TrainLoss"},{"Name":"ValidationLoss"},)"
      R"({"Name":"BestValidationLoss"},{"Name":"GeneralizationLoss"},)"
      R"({"Name":"ValidationLossRiseStreak"},{"Name":"EvaluationsSinceBest"},)"
      R"({"Name":"OverfittingDetected"},{"Name":"TrainingDiverged"},)"
      R"({"Name":"GeneralizationGapRatio"}]}]},"TrainingJobName":"j","Host":"h","Epoch":7,)"
      R"("Other":5,"TrainLoss":[0.9,0.5],"ValidationLoss":0.6,"BestValidationLoss":0.55,)"
      R"("GeneralizationLoss":9.1,"ValidationLossRiseStreak":2,"EvaluationsSinceBest":3,)"
      R"("OverfittingDetected":1,"TrainingDiverged":0,"GeneralizationGapRatio":0.2,)"
      R"("OverfittingReason":"rose <3>"})";
  template_model model;
  extracted_event by_position, by_name;
  REQUIRE(fitwatch::emf::validate_line(line, {}, &by_position, {}, &run_report::picks()).kind ==
          fitwatch::emf::line_kind::emf);
  REQUIRE(fitwatch::emf::validate_line(line, {}, &by_name).kind == fitwatch::emf::line_kind::emf);
  CHECK(by_position.picked.size() == 2 * 9);
  CHECK(by_position.reason == "rose <3>");  // the report's reading keeps the reason
  CHECK(by_name.reason.empty());
  run_report a{model}, b{model};
  a.add_event(by_position);
  b.add_event(by_name);
  const auto html = html_of(a);
  CHECK(html == html_of(b));
  CHECK(attribute(html, "summary", "data-jobs") == "1");  // both sets name job j
  CHECK(attribute(html, "j0-train", "data-points") == "1");
  CHECK(html.find("Best epoch <b>7</b>") == std::string::npos);  // 3 evaluations since best
}

TEST_CASE("report: a fleet of thousands of one-evaluation jobs holds their rows, not blocks") {
  // Each job's rows were kept in blocks of 4096 allocated whole: 3,000 jobs
  // of one line each took 1.1 GB (100,000 such jobs exhaust the memory).
  const auto peak_kb = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
  };
  template_model model;
  run_report r{model};
  const long before = peak_kb();
  for (int i = 0; i < 3000; ++i) r.add_event(event_of("job" + std::to_string(i), 1, 1.0, 1.0));
  const long grown_kb = peak_kb() - before;
  INFO("peak memory grew by " << grown_kb << " kB");
  CHECK(grown_kb < 100 * 1024);  // about 100 bytes a row; well under 100 MB with ASan
}

TEST_CASE("report: the grid of an axis over huge or nearly equal values ends") {
  // The grid added its step to the value until past the top: a value of
  // 1.79e308 rounded the top to infinity, and at 1e16 the step of 0.5 adds
  // nothing, so the page grew without end (until bad_alloc).
  for (const auto& [a, b] : {std::pair{0.5, 1.79e308}, std::pair{1e16, 1e16 + 2}}) {
    INFO(a << " " << b);
    const auto html = page_of_two(a, b);
    CHECK(attribute(html, "j0-train", "data-points") == "2");
    std::size_t grid_lines = 0;
    for (auto at = html.find("class=\"grid\""); at != std::string::npos;
         at = html.find("class=\"grid\"", at + 1))
      ++grid_lines;
    CHECK(grid_lines < 100);
  }
}

TEST_CASE("report: epoch ticks over epochs from INT64_MIN to INT64_MAX") {
  // The span of the epochs overflowed (undefined behaviour; it wrapped to a
  // step of 1: a tick at every evaluation), and so did the tick after
  // INT64_MAX (it wrapped to INT64_MIN: INT64_MAX got a tick twice).
  const auto ticks = [](const std::vector<std::int64_t>& epochs) {
    template_model model;
    run_report r{model};
    std::int64_t t = 0;
    for (const auto epoch : epochs) {
      auto e = event_of("j", ++t, 1.0, 1.0);
      e.epoch = epoch;
      r.add_event(e);
    }
    const auto html = html_of(r);
    const auto from = html.find(">epoch</text>");
    REQUIRE(from != std::string::npos);
    const auto row = html.substr(from, html.find('\n', from) - from);
    std::vector<std::string> labels;
    for (auto at = row.find("\"middle\">"); at != std::string::npos;
         at = row.find("\"middle\">", at + 1))
      labels.push_back(row.substr(at + 9, row.find('<', at) - at - 9));
    return labels;
  };
  constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
  constexpr auto highest = std::numeric_limits<std::int64_t>::max();
  std::vector<std::int64_t> wide = {-5000000000000000000};
  for (std::int64_t e = 1; e <= 30; ++e) wide.push_back(e);
  wide.push_back(5000000000000000000);
  CHECK(ticks(wide) == std::vector<std::string>{"-5000000000000000000", "5000000000000000000"});
  CHECK(ticks({highest - 1, highest, highest}) ==
        std::vector<std::string>{std::to_string(highest - 1), std::to_string(highest)});
  CHECK(ticks({lowest, 0, highest}).size() <= 3);
  CHECK(ticks({1, 2, 3, 3, 4}) == std::vector<std::string>{"1", "2", "3", "4"});
}

TEST_CASE("report: an axis from -1.79e308 to 1.79e308 draws numbers, not NaN") {
  // The axis's range (hi - lo) and its rounded top overflowed to infinity:
  // every y was NaN ("-nan" in the paths, not valid SVG), or every value
  // was drawn at the bottom.
  for (const auto& [a, b] : {std::pair{-1.79e308, 1.79e308}, std::pair{0.5, 1.79e308},
                             std::pair{1.79e308, 1.79e308}, std::pair{-1.79e308, -1.79e308}}) {
    INFO(a << " " << b);
    const auto html = page_of_two(a, b);
    for (const char* bad : {"nan\"", "inf\"", ">inf<", ">-inf<"}) {  // coordinates, labels
      INFO(bad);
      CHECK(html.find(bad) == std::string::npos);
    }
    // The path's two vertices: x y x y, each y on the panel (34..334).
    std::istringstream d(attribute(html, "j0-train", "d"));
    char move = 0, line = 0;
    double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    REQUIRE(static_cast<bool>(d >> move >> x1 >> y1 >> line >> x2 >> y2));
    for (const double y : {y1, y2}) {
      CHECK(y >= 34);
      CHECK(y <= 334);
    }
    if (a < b) CHECK(y1 > y2);  // the larger value higher on the page
  }
}
