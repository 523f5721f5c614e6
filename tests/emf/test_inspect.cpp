// The EMF line reader (tools/emf): how CloudWatch Logs classifies a line,
// and what it refuses. Hostile text in dimension names and values (issue #25,
// L3): CloudWatch takes only ASCII without control characters, with one
// non-whitespace character at least (API_Dimension), so a line carrying
// anything else makes no metric; replay must not alarm on it either.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "emf/inspect.hpp"

namespace {

using fitwatch::emf::line_kind;
using fitwatch::emf::validate_line;
using nlohmann::json;

json event_with_job(const std::string& job) {
  return {{"_aws",
           {{"Timestamp", 1750000000000},
            {"CloudWatchMetrics",
             {{{"Namespace", "FitWatch"},
               {"Dimensions", {{"TrainingJobName"}}},
               {"Metrics", {{{"Name", "ValidationLoss"}, {"Unit", "None"}}}}}}}}},
          {"TrainingJobName", job},
          {"ValidationLoss", 0.5}};
}

std::string first_error(const std::string& line) {
  const auto r = validate_line(line);
  return r.errors.empty() ? "" : r.errors.front();
}

}  // namespace

TEST_CASE("emf: a plain line, a valid event and an invalid one") {
  CHECK(validate_line("epoch 3: loss 0.5").kind == line_kind::plain);
  CHECK(validate_line("{\"no_aws\": 1}").kind == line_kind::plain);
  const auto ok = validate_line(event_with_job("job-1").dump());
  CHECK(ok.kind == line_kind::emf);
  CHECK(ok.datapoints == 1);
  auto no_timestamp = event_with_job("job-1");
  no_timestamp["_aws"].erase("Timestamp");
  CHECK(validate_line(no_timestamp.dump()).kind == line_kind::invalid);
}

TEST_CASE("emf: a dimension value CloudWatch would refuse makes the event invalid") {
  // (the JSON escapes of a control character are decoded before the check)
  for (const std::string& job :
       {std::string("job\r\n1"), std::string("job\x01"), std::string("caf\xc3\xa9"),
        std::string("   "), std::string("job\x7f")}) {
    CAPTURE(job);
    const auto line = event_with_job(job).dump();
    CHECK(validate_line(line).kind == line_kind::invalid);
    CHECK(first_error(line).find("dimension \"TrainingJobName\" value") == 0);
  }
  CHECK(first_error(event_with_job("caf\xc3\xa9").dump()).find("not ASCII") != std::string::npos);
  CHECK(first_error(event_with_job("a\tb").dump()).find("control character") != std::string::npos);
  CHECK(first_error(event_with_job(" ").dump()).find("only whitespace") != std::string::npos);
  // What CloudWatch takes: printable ASCII, spaces inside.
  CHECK(validate_line(event_with_job("my job-1.a_b:c/d").dump()).kind == line_kind::emf);
}

TEST_CASE("emf: a dimension name with a control character or non-ASCII is refused") {
  auto e = event_with_job("job-1");
  e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = {{"Job\nName"}};
  e["Job\nName"] = "job-1";
  CHECK(validate_line(e.dump()).kind == line_kind::invalid);
  CHECK(first_error(e.dump()).find("control character") != std::string::npos);
}

TEST_CASE("emf: a line that is not one JSON object, or a bomb of nesting, is never a crash") {
  CHECK(validate_line("{\"_aws\": ").kind == line_kind::invalid);
  const std::string deep = "{\"_aws\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  CHECK(validate_line(deep).kind == line_kind::invalid);
  CHECK(validate_line(std::string("{\"_aws\":{}}\0x", 13)).kind == line_kind::invalid);
}
