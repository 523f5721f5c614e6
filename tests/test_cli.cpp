// The fitwatch command: emit, validate, schema.
#include <unistd.h>

#include "fitwatch/monitor.hpp"
#include "run_command.hpp"
#include "support.hpp"

#ifndef FITWATCH_CLI
#error "FITWATCH_CLI must name the fitwatch binary"
#endif

using fitwatch::test::lines_of;
using fitwatch::test::parse_emf;
using fitwatch::test::run_command;
using nlohmann::json;

namespace {
const std::string cli = FITWATCH_CLI;
}

TEST_CASE("emit: CSV with a header, CSV without, and JSON give the same signals") {
  const std::string csv =
      "epoch,train_loss,val_loss,train_acc,val_acc\n"
      "1,0.9,1.0,0.5,0.4\n2,0.7,0.8,0.6,0.5\n3,0.5,0.6,0.7,0.6\n"
      "4,0.4,0.5,0.8,0.7\n5,0.3,0.52,0.85,0.7\n6,0.2,0.54,0.9,0.7\n7,0.1,0.56,0.95,0.7\n";
  const auto a = run_command(cli + " emit --job-name j", csv);
  REQUIRE(a.exit_code == 0);
  const auto b = run_command(cli + " emit --job-name j", csv.substr(csv.find('\n') + 1));
  REQUIRE(b.exit_code == 0);
  std::string js;
  for (const auto& l : lines_of(csv.substr(csv.find('\n') + 1))) {
    double e, t, v, ta, va;
    REQUIRE(std::sscanf(l.c_str(), "%lf,%lf,%lf,%lf,%lf", &e, &t, &v, &ta, &va) == 5);
    js += json{{"epoch", e}, {"train_loss", t}, {"val_loss", v}, {"train_acc", ta}, {"val_acc", va}}
              .dump() +
          "\n";
  }
  const auto c = run_command(cli + " emit --job-name j", js);
  REQUIRE(c.exit_code == 0);
  const auto la = lines_of(a.out), lb = lines_of(b.out), lc = lines_of(c.out);
  REQUIRE(la.size() == 7);
  REQUIRE(lb.size() == 7);
  REQUIRE(lc.size() == 7);
  for (std::size_t i = 0; i < la.size(); ++i) {
    auto ea = parse_emf(la[i]), eb = parse_emf(lb[i]), ec = parse_emf(lc[i]);
    for (auto* e : {&ea, &eb, &ec}) (*e)["_aws"].erase("Timestamp");
    CHECK(ea == eb);
    CHECK(ea == ec);
  }
  const auto last = parse_emf(la.back());
  CHECK(last["OverfittingDetected"] == 1);
  CHECK(last["Epoch"] == 7);
  CHECK(last["TrainAccuracy"] == 0.95);
  CHECK(last["TrainingJobName"] == "j");
}

TEST_CASE("emit: a malformed line is reported with its number and skipped") {
  const auto r = run_command(cli + " emit",
                             "1,0.5,0.6\nnot,a,line\n2,0.4\n{\"epoch\": 3}\n{oops\n3,0.4,0.5\n");
  CHECK(r.exit_code == 1);
  CHECK(lines_of(r.out).size() == 2);
  CHECK(r.err.find("line 2: 'not' is not a number (skipped)") != std::string::npos);
  CHECK(r.err.find("line 3: expected epoch,train_loss,val_loss") != std::string::npos);
  CHECK(r.err.find("line 4: missing \"train_loss\"") != std::string::npos);
  CHECK(r.err.find("line 5:") != std::string::npos);
  for (const auto& l : lines_of(r.out)) parse_emf(l);
}

TEST_CASE("emit: flags reach the logger and the detector") {
  const auto r = run_command(cli +
                                 " emit --namespace Team/ML --job-name j --dimension Model=mlp "
                                 "--gl-threshold 0 --rise-patience 2 --warmup 0",
                             "1,0.5,0.5\n2,0.4,0.6\n3,0.3,0.7\n");
  REQUIRE(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);
  const auto e = parse_emf(lines[2]);
  CHECK(e["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Team/ML");
  CHECK(e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] ==
        json::parse(R"([["TrainingJobName","Model"]])"));
  CHECK(e["Model"] == "mlp");
  CHECK(e["OverfittingDetected"] == 1);
  CHECK(e["OverfittingReason"] == "validation loss rose 2 evaluations in a row");
  const auto bad = run_command(cli + " emit --namespace AWS/Mine", "");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("invalid namespace \"AWS/Mine\"") != std::string::npos);
  CHECK(run_command(cli + " emit --smoothing 2", "").exit_code == 2);
  CHECK(run_command(cli + " emit --bogus", "").exit_code == 2);
}

TEST_CASE("validate: flags every invalid line of a bad log and none of a good one") {
  const std::string good =
      R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["J"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"J":"x","M":[1,2]})"
      "\nplain text line\n{\"json\": \"without _aws\"}\n";
  const auto ok = run_command(cli + " validate", good);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "3 lines, 1 EMF events, 1 metrics (2 datapoints) extracted, 0 invalid\n");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":NaN})",
       "not valid JSON"},
      {R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1})",
       "Timestamp is missing"},
      {R"({"_aws":{"Timestamp":"now","CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1})",
       "not a non-negative integer"},
      {R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Secs"}]}]},"M":1})",
       "unknown Unit"},
      {R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","StorageResolution":30}]}]},"M":1})",
       "not 1 or 60"},
      {R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["J"]],"Metrics":[{"Name":"M"}]}]},"J":5,"M":1})",
       "not a string"},
      {R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["J"]],"Metrics":[{"Name":"M"}]}]},"M":1})",
       "has no member"},
      {R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":"1"})",
       "not a number or an array"},
      {R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1})",
       "Namespace is missing"},
      {R"({"_aws":{"Timestamp":1}})", "CloudWatchMetrics is missing"},
  };
  std::string log;
  for (const auto& [line, why] : bad) log += line + "\n";
  const auto r = run_command(cli + " validate", log);
  CHECK(r.exit_code == 1);
  for (std::size_t i = 0; i < bad.size(); ++i) {
    INFO(bad[i].first);
    CHECK(r.err.find("<stdin>:" + std::to_string(i + 1) + ": invalid EMF: ") != std::string::npos);
    CHECK(r.err.find(bad[i].second) != std::string::npos);
  }
  CHECK(r.out.find(std::to_string(bad.size()) + " invalid") != std::string::npos);
}

TEST_CASE("validate: limits") {
  json e = json::parse(
      R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[]}]}})");
  SUBCASE("101 values in one metric") {
    e["_aws"]["CloudWatchMetrics"][0]["Metrics"].push_back({{"Name", "M"}});
    e["M"] = std::vector<int>(101, 1);
  }
  SUBCASE("101 metric definitions") {
    for (int i = 0; i < 101; ++i) {
      e["_aws"]["CloudWatchMetrics"][0]["Metrics"].push_back({{"Name", "M" + std::to_string(i)}});
      e["M" + std::to_string(i)] = 1;
    }
  }
  SUBCASE("31 dimensions") {
    e["_aws"]["CloudWatchMetrics"][0]["Metrics"].push_back({{"Name", "M"}});
    e["M"] = 1;
    for (int i = 0; i < 31; ++i) {
      e["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0].push_back("D" + std::to_string(i));
      e["D" + std::to_string(i)] = "v";
    }
  }
  SUBCASE("over 1 MB") {
    e["_aws"]["CloudWatchMetrics"][0]["Metrics"].push_back({{"Name", "M"}});
    e["M"] = 1;
    e["big"] = std::string(1024 * 1024, 'x');
  }
  const auto r = fitwatch::tools::validate_line(e.dump());
  CHECK(r.kind == fitwatch::tools::line_kind::invalid);
}

TEST_CASE("schema prints the library's metrics") {
  const auto r = run_command(cli + " schema Custom/NS");
  REQUIRE(r.exit_code == 0);
  const auto s = json::parse(r.out);
  CHECK(s["Namespace"] == "Custom/NS");
  CHECK(json::parse(fitwatch::schema_json("Custom/NS")) == s);
  CHECK(s["Metrics"].size() == fitwatch::signal_metrics.size());
}
