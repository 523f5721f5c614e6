// The record model and serializer: EMF structure, limits, errors, bad values.
// Rules: the EMF specification
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
// and the CloudWatch API's limits for metric data
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "fitwatch/error.hpp"
#include "fitwatch/limits.hpp"
#include "fitwatch/record.hpp"
#include "support.hpp"

using fitwatch::error;
using fitwatch::record;
using fitwatch::resolution;
using fitwatch::unit;
using nlohmann::json;

namespace {

std::vector<json> serialize(record& r, std::int64_t ts = 1700000000123) {
  std::vector<json> events;
  r.serialize(ts, [&](std::string_view line) {
    events.push_back(fitwatch::test::parse_emf(std::string(line)));
  });
  return events;
}

}  // namespace

TEST_CASE("one evaluation becomes one EMF event with every member") {
  record r{"FitWatch"};
  r.set_dimensions({{{"TrainingJobName", "job-1"}}});
  const auto train = r.metric("TrainLoss", unit::none, resolution::high);
  const auto acc = r.metric("ValidationAccuracy", unit::percent);
  const auto epoch = r.property("epoch");
  const auto lr = r.property("lr");
  const auto note = r.property("note");
  const auto flag = r.property("flag");
  r.set(epoch, std::int64_t{3});
  r.set(lr, 0.001);
  r.set(note, "hello \"world\"\n");
  r.set(flag, true);
  r.put(train, 0.5);
  r.put(acc, 91.25);

  const auto events = serialize(r);
  REQUIRE(events.size() == 1);
  const json expected = json::parse(R"({
    "_aws": {"Timestamp": 1700000000123, "CloudWatchMetrics": [{
      "Namespace": "FitWatch", "Dimensions": [["TrainingJobName"]],
      "Metrics": [{"Name": "TrainLoss", "Unit": "None", "StorageResolution": 1},
                  {"Name": "ValidationAccuracy", "Unit": "Percent"}]}]},
    "TrainingJobName": "job-1", "epoch": 3, "lr": 0.001, "note": "hello \"world\"\n",
    "flag": true, "TrainLoss": 0.5, "ValidationAccuracy": 91.25})");
  CHECK(events[0] == expected);
}

TEST_CASE("values are cleared after serializing, properties are kept") {
  record r{"NS"};
  const auto m = r.metric("M");
  const auto p = r.property("epoch");
  r.set(p, std::int64_t{1});
  r.put(m, 1.0);
  CHECK(serialize(r).size() == 1);
  CHECK(r.empty());
  CHECK(serialize(r).empty());  // nothing pending: no line at all
  r.put(m, 2.0);
  const auto events = serialize(r);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["M"] == 2.0);
  CHECK(events[0]["epoch"] == 1);
}

TEST_CASE("several values of one metric are an array, in order") {
  record r{"NS"};
  const auto m = r.metric("Step", unit::milliseconds);
  for (double v : {3.0, 1.5, -2.0}) r.put(m, v);
  const auto events = serialize(r);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["Step"] == json::array({3.0, 1.5, -2.0}));
}

TEST_CASE("the 27 units") {
  const std::vector<std::string> names = {"Seconds",
                                          "Microseconds",
                                          "Milliseconds",
                                          "Bytes",
                                          "Kilobytes",
                                          "Megabytes",
                                          "Gigabytes",
                                          "Terabytes",
                                          "Bits",
                                          "Kilobits",
                                          "Megabits",
                                          "Gigabits",
                                          "Terabits",
                                          "Percent",
                                          "Count",
                                          "Bytes/Second",
                                          "Kilobytes/Second",
                                          "Megabytes/Second",
                                          "Gigabytes/Second",
                                          "Terabytes/Second",
                                          "Bits/Second",
                                          "Kilobits/Second",
                                          "Megabits/Second",
                                          "Gigabits/Second",
                                          "Terabits/Second",
                                          "Count/Second",
                                          "None"};
  REQUIRE(names.size() == fitwatch::unit_count);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto u = static_cast<unit>(i);
    CHECK(fitwatch::to_string(u) == names[i]);
    CHECK(fitwatch::parse_unit(names[i]) == u);
  }
  CHECK_FALSE(fitwatch::parse_unit("seconds").has_value());
  CHECK_FALSE(fitwatch::parse_unit("Second").has_value());
  CHECK_FALSE(fitwatch::parse_unit("").has_value());
}

TEST_CASE("invalid declarations fail with a message naming the offender") {
  record r{"NS"};
  SUBCASE("namespace") {
    CHECK_THROWS_WITH_AS(record{""}, "fitwatch: invalid namespace \"\": empty (1..255 characters)",
                         error);
    CHECK_THROWS_WITH_AS(record{":x"},
                         "fitwatch: invalid namespace \":x\": must not start with ':'", error);
    CHECK_THROWS_WITH_AS(record{"AWS/Mine"},
                         "fitwatch: invalid namespace \"AWS/Mine\": \"AWS/\" is reserved for AWS "
                         "services",
                         error);
    CHECK_THROWS_AS(record{std::string(256, 'n')}, error);
    CHECK_THROWS_AS(record{"tab\there"}, error);
    CHECK_NOTHROW(record{std::string(255, 'n')});
  }
  SUBCASE("metric names") {
    CHECK_THROWS_WITH_AS(r.metric(""),
                         "fitwatch: invalid metric name \"\": empty (1..255 characters)", error);
    CHECK_THROWS_WITH_AS(r.metric(std::string(256, 'm')),
                         doctest::Contains("256 characters, more than 255"), error);
    CHECK_THROWS_WITH_AS(r.metric("bad\xff"), doctest::Contains("not valid UTF-8"), error);
    CHECK_NOTHROW(r.metric(std::string(255, 'm')));
    CHECK_NOTHROW(r.metric("Verlust \xc3\xa9"));  // UTF-8 is fine for metric names
  }
  SUBCASE("dimension names and values") {
    CHECK_THROWS_WITH_AS(r.set_dimensions({{{":Job", "x"}}}),
                         "fitwatch: invalid dimension name \":Job\": must not start with ':'",
                         error);
    CHECK_THROWS_WITH_AS(r.set_dimensions({{{"Jöb", "x"}}}),
                         doctest::Contains("invalid dimension name \"Jöb\": not ASCII"), error);
    CHECK_THROWS_WITH_AS(r.set_dimensions({{{"Job", ""}}}),
                         doctest::Contains("invalid value of dimension \"Job\", \"\": empty"),
                         error);
    CHECK_THROWS_AS(r.set_dimensions({{{"Job", std::string(1025, 'v')}}}), error);
    CHECK_NOTHROW(r.set_dimensions({{{"Job", std::string(1024, 'v')}}}));
    CHECK_THROWS_WITH_AS(r.set_dimensions({{{"Job", "a"}}, {{"Job", "b"}}}),
                         doctest::Contains("dimension \"Job\" has two values"), error);
    CHECK_THROWS_WITH_AS(r.set_dimensions({{{"Job", "a"}, {"Job", "a"}}}),
                         doctest::Contains("appears twice"), error);
  }
  SUBCASE("dimension set size") {
    fitwatch::dimension_set set;
    for (int i = 0; i < 30; ++i) set.push_back({"D" + std::to_string(i), "v"});
    CHECK_NOTHROW(r.set_dimensions({set}));
    set.push_back({"D30", "v"});
    CHECK_THROWS_WITH_AS(r.set_dimensions({set}),
                         "fitwatch: dimension set with 31 dimensions, more than 30", error);
    // A failed call changes nothing.
    CHECK(r.dimension_sets().front().size() == 30);
  }
  SUBCASE("one metric, two units or two resolutions") {
    const auto a = r.metric("Loss", unit::none, resolution::high);
    CHECK(r.metric("Loss", unit::none, resolution::high).index == a.index);
    CHECK_THROWS_WITH_AS(r.metric("Loss", unit::count, resolution::high),
                         "fitwatch: metric \"Loss\" declared again with another unit or "
                         "resolution (None/1 then Count/1)",
                         error);
    CHECK_THROWS_WITH_AS(r.metric("Loss", unit::none, resolution::standard),
                         doctest::Contains("None/1 then None/60"), error);
    CHECK_THROWS_AS(r.metric("Bad", unit::none, static_cast<resolution>(5)), error);
    CHECK_THROWS_AS(r.metric("Bad", static_cast<unit>(99)), error);
  }
  SUBCASE("a member name used twice") {
    r.set_dimensions({{{"TrainingJobName", "j"}}});
    r.metric("Loss");
    r.property("epoch");
    CHECK_THROWS_WITH_AS(r.property("Loss"),
                         "fitwatch: member name \"Loss\" is already used by a metric; a "
                         "dimension, a metric and a property cannot share a name",
                         error);
    CHECK_THROWS_WITH_AS(r.metric("TrainingJobName"),
                         doctest::Contains("already used by a dimension"), error);
    CHECK_THROWS_WITH_AS(r.metric("epoch"), doctest::Contains("already used by a property"), error);
    CHECK_THROWS_WITH_AS(r.set_dimensions({{{"epoch", "x"}}}),
                         doctest::Contains("already used by a property"), error);
    CHECK_THROWS_WITH_AS(r.metric("_aws"), doctest::Contains("\"_aws\" is reserved"), error);
    CHECK_THROWS_AS(r.property("_aws"), error);
    // Replacing the dimensions frees their names.
    r.set_dimensions({});
    CHECK_NOTHROW(r.metric("TrainingJobName"));
  }
}

TEST_CASE("non-finite values are dropped, counted and reported, never written") {
  fitwatch::test::capture_reports reports;
  record r{"NS"};
  const auto m = r.metric("Loss");
  const auto other = r.metric("Other");
  CHECK(r.put(m, 1.0));
  CHECK_FALSE(r.put(m, std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(r.put(m, std::numeric_limits<double>::infinity()));
  CHECK_FALSE(r.put(m, -std::numeric_limits<double>::infinity()));
  CHECK_FALSE(r.put(other, std::nan("")));
  CHECK(r.put(m, 2.0));
  CHECK(r.dropped_values() == 4);
  const auto events = serialize(r);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["Loss"] == json::array({1.0, 2.0}));
  CHECK_FALSE(events[0].contains("Other"));  // no value: not declared in this event
  CHECK(events[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"].size() == 1);
  // Rate-limited: four drops within a second give one report.
  const auto messages = reports.all();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].find("non-finite value of metric \"Loss\" dropped") != std::string::npos);
}

TEST_CASE("an evaluation with only non-finite values writes nothing") {
  record r{"NS"};
  const auto m = r.metric("Loss");
  r.put(m, std::nan(""));
  CHECK(serialize(r).empty());
}

TEST_CASE("more than 100 metrics are split into events of at most 100") {
  record r{"NS"};
  r.set_dimensions({{{"TrainingJobName", "j"}}});
  const auto epoch = r.property("epoch");
  r.set(epoch, std::int64_t{7});
  for (int i = 0; i < 250; ++i) r.put(r.metric("M" + std::to_string(i)), i);
  const auto events = serialize(r);
  REQUIRE(events.size() == 3);
  std::map<std::string, double> seen;
  for (const auto& e : events) {
    const auto& defs = e["_aws"]["CloudWatchMetrics"][0]["Metrics"];
    CHECK(defs.size() <= 100);
    CHECK(e["TrainingJobName"] == "j");  // every event carries the dimensions
    CHECK(e["epoch"] == 7);              // and the properties
    for (const auto& d : defs) {
      const auto name = d["Name"].get<std::string>();
      CHECK(seen.count(name) == 0);
      seen[name] = e[name].get<double>();
    }
  }
  REQUIRE(seen.size() == 250);
  for (int i = 0; i < 250; ++i) CHECK(seen["M" + std::to_string(i)] == i);
}

TEST_CASE("more than 100 values of one metric are split, keeping order") {
  record r{"NS"};
  const auto a = r.metric("A");
  const auto b = r.metric("B");
  for (int i = 0; i < 250; ++i) r.put(a, i);
  for (int i = 0; i < 30; ++i) r.put(b, -i);
  const auto events = serialize(r);
  REQUIRE(events.size() == 3);
  std::vector<double> all_a, all_b;
  for (const auto& e : events) {
    for (const auto& d : e["_aws"]["CloudWatchMetrics"][0]["Metrics"]) {
      const auto name = d["Name"].get<std::string>();
      const auto& v = e[name];
      auto& into = name == "A" ? all_a : all_b;
      if (v.is_array()) {
        CHECK(v.size() <= 100);
        for (const auto& x : v) into.push_back(x.get<double>());
      } else {
        into.push_back(v.get<double>());
      }
    }
  }
  REQUIRE(all_a.size() == 250);
  REQUIRE(all_b.size() == 30);
  for (int i = 0; i < 250; ++i) CHECK(all_a[i] == i);
  for (int i = 0; i < 30; ++i) CHECK(all_b[i] == -i);
}

TEST_CASE("the largest possible record still gives events under 1 MB") {
  // Longest names, 30 longest dimension values needing escapes ('"' is the
  // longest escape a valid dimension value can have: control characters are
  // rejected), the most properties at their longest, 100 values in each of
  // 150 metrics.
  record r{std::string(255, 'N')};
  fitwatch::dimension_set set;
  for (int i = 0; i < 30; ++i) {
    set.push_back({std::string(250, 'd') + std::to_string(100 + i), std::string(1024, '"')});
  }
  r.set_dimensions({set});
  fitwatch::test::capture_reports reports;
  const std::string long_value(fitwatch::limits::max_property_bytes,
                               '"');  // escaped: twice as long
  for (std::size_t p = 0; p < 40; ++p) {
    r.set(r.property(std::string(250, 'p') + std::to_string(100 + p)), long_value);
  }
  for (int m = 0; m < 150; ++m) {
    const auto id = r.metric(std::string(250, '\\') + std::to_string(100 + m));
    for (int v = 0; v < 100; ++v) r.put(id, -1.7976931348623157e308);
  }
  std::size_t lines = 0;
  std::map<std::string, std::size_t> values;
  std::set<std::string> kept;
  r.serialize(1, [&](std::string_view line) {
    ++lines;
    CHECK(line.size() <= fitwatch::limits::max_event_bytes);
    const auto e = fitwatch::test::parse_emf(std::string(line));
    std::set<std::string> properties;
    for (const auto& [key, value] : e.items()) {
      if (key.rfind(std::string(250, 'p'), 0) == 0) {
        CHECK(value == long_value);  // a property is whole or absent
        properties.insert(key);
      } else if (key.rfind(std::string(250, '\\'), 0) == 0) {
        values[key] += value.size();
      }
    }
    if (lines == 1) kept = properties;
    CHECK(properties == kept);  // every line of the evaluation: the same properties
  });
  CHECK(lines >= 2);
  REQUIRE(values.size() == 150);
  for (const auto& [name, count] : values) CHECK(count == 100);  // no value lost
  CHECK_FALSE(kept.empty());
  CHECK(kept.size() < 40);  // properties had to give way, metrics never
  bool reported = false;
  for (const auto& m : reports.all()) reported |= m.find("left out") != std::string::npos;
  CHECK(reported);
}

TEST_CASE("a large record keeps its properties when it fits") {
  record r{"NS"};
  const auto hp = r.property("hyperparameters");
  r.set(hp, std::string(10000, 'h'));
  for (int m = 0; m < 100; ++m) {
    const auto id = r.metric("M" + std::to_string(m));
    for (int v = 0; v < 100; ++v) r.put(id, v);
  }
  const auto events = serialize(r);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["hyperparameters"] == std::string(10000, 'h'));
}

TEST_CASE("invalid UTF-8 in a string property never throws and is written as U+FFFD") {
  record r{"NS"};
  const auto p = r.property("note");
  const auto m = r.metric("M");
  CHECK_NOTHROW(r.set(p, std::string_view("ok\xff\xc3(\xed\xa0\x80!")));
  r.put(m, 1);
  const auto events = serialize(r);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["note"] == "ok\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
}

TEST_CASE("a long string property is cut at a UTF-8 boundary and reported") {
  fitwatch::test::capture_reports reports;
  record r{"NS"};
  const auto p = r.property("hp");
  std::string big;
  while (big.size() < fitwatch::limits::max_property_bytes + 10) big += "\xc3\xa9";  // é
  r.set(p, big);
  r.put(r.metric("M"), 1);
  const auto events = serialize(r);
  const auto written = events.at(0)["hp"].get<std::string>();
  CHECK(written.size() <= fitwatch::limits::max_property_bytes);
  CHECK(written.size() % 2 == 0);
  CHECK(big.compare(0, written.size(), written) == 0);
  CHECK(reports.all().size() == 1);
}

TEST_CASE("no dimensions, several dimension sets") {
  record r{"NS"};
  const auto m = r.metric("M");
  SUBCASE("none: one empty dimension set") {
    r.set_dimensions({});
    r.put(m, 1);
    const auto e = serialize(r).at(0);
    CHECK(e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == json::parse("[[]]"));
  }
  SUBCASE("several sets share members") {
    r.set_dimensions({{{"TrainingJobName", "j"}}, {{"TrainingJobName", "j"}, {"Model", "mlp"}}});
    r.put(m, 1);
    const auto e = serialize(r).at(0);
    CHECK(e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] ==
          json::parse(R"([["TrainingJobName"],["TrainingJobName","Model"]])"));
    CHECK(e["TrainingJobName"] == "j");
    CHECK(e["Model"] == "mlp");
    // The validator counts one metric per dimension set.
    const auto report = fitwatch::emf::validate_line(e.dump());
    CHECK(report.metrics == 2);
  }
}

TEST_CASE("numbers round-trip exactly") {
  record r{"NS"};
  const auto m = r.metric("M");
  const std::vector<double> values = {
      0.1, -0.0, 1e-300, 5e-324, 1.7976931348623157e308, 123456789.125, 2.0 / 3.0};
  for (const double v : values) r.put(m, v);
  const auto e = serialize(r).at(0);
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(e["M"][i].get<double>() == values[i]);
}
