// What the tests of the alarm engine share: a template with one alarm, EMF
// events built as JSON, and feeding them to an engine.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "alarms/engine.hpp"
#include "cfn/template.hpp"
#include "support.hpp"

namespace fitwatch::test {

using nlohmann::json;

constexpr std::int64_t base = 1750000020000 / 60000 * 60000;  // a minute boundary
constexpr std::int64_t minute = 60000;

// A template with one alarm on FitWatch/M with dimension J=x.
inline json alarm_template(int n, int m, const std::string& tmd,
                           const std::string& stat = "Maximum", int period = 60,
                           json dims = json::parse(R"([{"Name":"J","Value":"x"}])")) {
  json t = json::parse(R"({"Resources":{"Topic":{"Type":"AWS::SNS::Topic"},
    "A":{"Type":"AWS::CloudWatch::Alarm","Properties":{"AlarmName":"a","Namespace":"FitWatch",
    "MetricName":"M","ComparisonOperator":"GreaterThanOrEqualToThreshold","Threshold":1}}}})");
  auto& p = t["Resources"]["A"]["Properties"];
  p["EvaluationPeriods"] = n;
  p["DatapointsToAlarm"] = m;
  p["TreatMissingData"] = tmd;
  p["Statistic"] = stat;
  p["Period"] = period;
  p["Dimensions"] = dims;
  p["AlarmActions"] = json::array({json{{"Ref", "Topic"}}});
  return t;
}

inline fitwatch::alarms::template_model model_of(const json& t) {
  return fitwatch::cfn::evaluate_template(t, fitwatch::cfn::template_options{});
}

// One EMF event: metric M (values), dimension sets over J=x (and Host=h).
inline json event(std::int64_t ts, const json& values, json sets = json::parse(R"([["J"]])"),
                  const std::string& name = "M") {
  json e = {
      {"_aws",
       {{"Timestamp", ts},
        {"CloudWatchMetrics", json::array({{{"Namespace", "FitWatch"},
                                            {"Dimensions", sets},
                                            {"Metrics", json::array({{{"Name", name}}})}}})}}},
      {"J", "x"},
      {"Host", "h"},
      {name, values}};
  // Every event we feed must itself be valid EMF.
  fitwatch::test::parse_emf(e.dump() + "\n");
  return e;
}

inline void add(fitwatch::alarms::engine& e, const json& event, std::size_t line) {
  const auto r = e.store().add_line(event.dump(), line);
  REQUIRE(r.kind == fitwatch::emf::line_kind::emf);
}

}  // namespace fitwatch::test
