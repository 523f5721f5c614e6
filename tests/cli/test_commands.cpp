// The fitwatch command: emit, validate, schema, replay and watch, run as a
// user runs them (exit codes, stdout, stderr).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "fitwatch/monitor.hpp"
#include "fitwatch/settings.hpp"
#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#ifndef FITWATCH_CLI
#error "FITWATCH_CLI must name the fitwatch binary"
#endif

using fitwatch::test::lines_of;
using fitwatch::test::parse_emf;
using fitwatch::test::run_command;
using nlohmann::json;

namespace {
const std::string cli = FITWATCH_CLI;

bool has_usage(const std::string& text, const std::string& command) {
  return text.rfind("usage: fitwatch " + command, 0) == 0 ||
         text.find("\n       fitwatch " + command) != std::string::npos;
}
}  // namespace

TEST_CASE("emit: CSV with a header, CSV without, and JSON give the same signals") {
  const std::string csv =
      "epoch,train_loss,val_loss,train_acc,val_acc\n"
      "1,0.9,1.0,0.5,0.4\n2,0.7,0.8,0.6,0.5\n3,0.5,0.6,0.7,0.6\n"
      "4,0.4,0.5,0.8,0.7\n5,0.3,0.5,0.85,0.7\n6,0.2,0.55,0.9,0.7\n7,0.1,0.6,0.95,0.7\n"
      "8,0.1,0.65,0.95,0.7\n";
  // Smoothing 0.7 and train_window 6: the curve was written for them (the
  // defaults until tune.py chose 0.5 and 4).
  const std::string emit =
      cli + " emit --job-name j --gl-noise-units 0 --smoothing 0.7 --train-window 6";
  const auto a = run_command(emit, csv);
  REQUIRE(a.exit_code == 0);
  const auto b = run_command(emit, csv.substr(csv.find('\n') + 1));
  REQUIRE(b.exit_code == 0);
  std::string js;
  for (const auto& l : lines_of(csv.substr(csv.find('\n') + 1))) {
    double e, t, v, ta, va;
    REQUIRE(std::sscanf(l.c_str(), "%lf,%lf,%lf,%lf,%lf", &e, &t, &v, &ta, &va) == 5);
    js += json{{"epoch", e}, {"train_loss", t}, {"val_loss", v}, {"train_acc", ta}, {"val_acc", va}}
              .dump() +
          "\n";
  }
  const auto c = run_command(emit, js);
  REQUIRE(c.exit_code == 0);
  const auto la = lines_of(a.out), lb = lines_of(b.out), lc = lines_of(c.out);
  REQUIRE(la.size() == 8);
  REQUIRE(lb.size() == 8);
  REQUIRE(lc.size() == 8);
  for (std::size_t i = 0; i < la.size(); ++i) {
    auto ea = parse_emf(la[i]), eb = parse_emf(lb[i]), ec = parse_emf(lc[i]);
    for (auto* e : {&ea, &eb, &ec}) (*e)["_aws"].erase("Timestamp");
    CHECK(ea == eb);
    CHECK(ea == ec);
  }
  // (--gl-noise-units 0: 8 evaluations are too few to tell the noise from
  // the fall of the first ones.)
  const auto last = parse_emf(la.back());
  CHECK(last["OverfittingDetected"] == 1);
  CHECK(last["Epoch"] == 8);
  CHECK(last["TrainAccuracy"] == 0.95);
  CHECK(last["TrainingJobName"] == "j");
}

TEST_CASE("emit: a loss in hex, or with trailing text, is not a number") {
  // std::stod would read 0x10 as 16 and 0x1p-2 as 0.25.
  const auto r = run_command(cli + " emit", "1,0x10,0.6\n2,0.5,0x1p-2\n3,0.5,0.6x\n4,0.5,0.6\n");
  CHECK(r.exit_code == 1);
  const auto out = lines_of(r.out);
  REQUIRE(out.size() == 1);
  CHECK(parse_emf(out[0])["Epoch"] == 4);
  CHECK(r.err.find("line 1: '0x10' is not a number (skipped)") != std::string::npos);
  CHECK(r.err.find("line 2: '0x1p-2' is not a number (skipped)") != std::string::npos);
  CHECK(r.err.find("line 3: '0.6x' is not a number (skipped)") != std::string::npos);
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

// --gl-threshold for gl_threshold.
std::string flag_of(std::string_view setting) {
  std::string flag = "--" + std::string(setting);
  for (auto& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

TEST_CASE("emit: every setting is a flag, and a bad value gives the library's message and exit 2") {
  const fitwatch::settings defaults;
  std::size_t rejected = 0;
  const auto usage = run_command(cli + " emit --help").out;  // made from setting_specs()
  CHECK(has_usage(usage, "emit"));
  for (const auto& spec : fitwatch::setting_specs()) {
    const std::string name(spec.name), flag = flag_of(spec.name);
    INFO(flag);
    // A valid value other than the default, as test_settings.cpp picks them.
    const std::string other =
        spec.type == "boolean"
            ? (fitwatch::setting_value(defaults, name) == "true" ? "false" : "true")
        : spec.type == "text"       ? "Other"
        : spec.type == "0 or all"   ? "all"
        : spec.type == "min or max" ? "max"
        : name == "smoothing"       ? "0.5"
                                    : "4";
    // A named monitored metric is a column the header names.
    const std::string input =
        name == "monitor" ? "epoch,train_loss,val_loss,Other\n1,0.5,0.6,0.7\n" : "1,0.5,0.6\n";
    const auto ok = run_command(cli + " emit " + flag + " " + other, input);
    CHECK(ok.exit_code == 0);
    CHECK(ok.err.empty());
    CHECK(usage.find("\n  " + flag + " ") != std::string::npos);
    // "x" is no number, count, boolean or 0/all; the library says why.
    fitwatch::settings s;
    std::string expected;
    try {
      fitwatch::apply_setting(s, name, "x", flag);
    } catch (const fitwatch::error& e) {
      expected = e.what();
    }
    if (expected.empty()) continue;  // text: any value
    ++rejected;
    const auto bad = run_command(cli + " emit " + flag + " x", "1,0.5,0.6\n");
    CHECK(bad.exit_code == 2);
    CHECK(bad.out.empty());
    // "fitwatch: setting --x=...: why" said once, after "fitwatch emit: ".
    CHECK(bad.err.rfind(
              "fitwatch emit: " + expected.substr(std::string("fitwatch: ").size()) + "\n", 0) ==
          0);
  }
  // All but namespace, job_name and monitor ("x" is a valid metric name).
  CHECK(rejected + 3 == fitwatch::setting_specs().size());
  // The aliases of the earlier flags.
  CHECK(run_command(cli + " emit --gap-ratio 0.5 --no-check-finite --no-default-dimensions", "")
            .exit_code == 0);
  CHECK(run_command(cli + " emit --gap-ratio -1", "").err.find("setting --gap-ratio=\"-1\"") !=
        std::string::npos);
}

TEST_CASE("emit: FITWATCH_* variables are settings too, and a flag wins") {
  const auto namespace_of = [](const std::string& command) {
    const auto r = run_command(command, "1,0.5,0.6\n");
    REQUIRE(r.exit_code == 0);
    return parse_emf(lines_of(r.out).at(0))["_aws"]["CloudWatchMetrics"][0]["Namespace"];
  };
  CHECK(namespace_of("FITWATCH_NAMESPACE=Env/NS " + cli + " emit") == "Env/NS");
  CHECK(namespace_of("FITWATCH_NAMESPACE=Env/NS " + cli + " emit --namespace Flag/NS") ==
        "Flag/NS");
  const auto bad = run_command("FITWATCH_SMOOTHING=abc " + cli + " emit", "");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.rfind("fitwatch emit: setting FITWATCH_SMOOTHING=\"abc\": not a number\n", 0) == 0);
}

TEST_CASE("emit: on torchrun rank 1 only --passthrough lines are written, unless write_ranks=all") {
  const std::string in = "hello\n1,0.5,0.6\n";
  const std::string rank1 = "RANK=1 WORLD_SIZE=2 ";
  const auto quiet = run_command(rank1 + cli + " emit --passthrough", in);
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.out == "hello\n");
  for (const std::string& command :
       {rank1 + "FITWATCH_WRITE_RANKS=all " + cli + " emit --passthrough",
        rank1 + cli + " emit --passthrough --write-ranks all"}) {
    const auto r = run_command(command, in);
    CHECK(r.exit_code == 0);
    REQUIRE(lines_of(r.out).size() == 2);
    CHECK(parse_emf(lines_of(r.out)[1])["ValidationLoss"] == 0.6);
  }
  // A bad rank is reported and the process writes (issue 25, M2).
  for (const std::string env : {"RANK=2 WORLD_SIZE=2 ", "LOCAL_RANK=-1 ", "RANK=x ",
                                "FITWATCH_WRITE_RANKS=some RANK=1 WORLD_SIZE=2 "}) {
    INFO(env);
    const auto r = run_command(env + cli + " emit --passthrough", in);
    CHECK(r.exit_code == 0);
    REQUIRE(lines_of(r.out).size() == 2);
    CHECK(lines_of(r.out)[0] == "hello\n");
    CHECK(parse_emf(lines_of(r.out)[1])["ValidationLoss"] == 0.6);
    CHECK((env == "LOCAL_RANK=-1 " ? r.err.empty() : r.err.find("fitwatch: ") == 0));
  }
}

TEST_CASE("emit: the jump rule is off by default, --jump-sigmas turns it on, bad flags fail") {
  // Noise around a flat 0.5, then a jump of 12 noise units at epoch 11.
  std::string curve;
  const double val[] = {0.52, 0.5, 0.52, 0.5, 0.48, 0.5, 0.52, 0.5, 0.48, 0.5, 0.75};
  for (int i = 0; i < 11; ++i) {
    curve += std::to_string(i + 1) + "," + std::to_string(0.3 - 0.01 * i) + "," +
             std::to_string(val[i]) + "\n";
  }
  const auto verdict = [&](const std::string& flags) {
    const auto r = run_command(cli + " emit --job-name j " + flags, curve);
    REQUIRE(r.exit_code == 0);
    return parse_emf(lines_of(r.out).back());
  };
  // The jump alone (the GL rule off; the noise unit of the change itself:
  // detrended, this two-valued noise has a median deviation of 0).
  const std::string alone = "--gl-threshold 0 --noise-detrend false ";
  CHECK(verdict("")["OverfittingDetected"] == 0);  // one jump, at the last epoch
  CHECK(verdict(alone)["OverfittingDetected"] == 0);
  const auto on = verdict(alone + "--jump-sigmas 5");
  CHECK(on["OverfittingDetected"] == 1);
  CHECK(on["OverfittingReason"].get<std::string>().rfind("validation loss jumped", 0) == 0);
  CHECK(verdict(alone + "--jump-sigmas 13")["OverfittingDetected"] == 0);
  CHECK(run_command(cli + " emit --trend-window 2", "").exit_code == 2);
  CHECK(run_command(cli + " emit --trend-t -1", "").exit_code == 2);
  CHECK(run_command(cli + " emit --strong-rise-percent -1", "").exit_code == 2);
}

TEST_CASE("emit: NaN, Infinity and -Infinity as Python's json writes them mean divergence") {
  // What json.dumps writes for float("nan"), float("inf") and -float("inf").
  const std::string in =
      "{\"epoch\": 1, \"train_loss\": 0.5, \"val_loss\": 0.6}\n"
      "{\"epoch\": 2, \"train_loss\": NaN, \"val_loss\": 0.6, \"note\": \"NaN Infinity\"}\n"
      "{\"epoch\": 3, \"train_loss\": 0.5, \"val_loss\": Infinity}\n"
      "{\"epoch\": 4, \"train_loss\": -Infinity, \"val_loss\": 0.6}\n"
      "5,0.5,-Infinity\n"
      "{\"epoch\": 6, \"train_loss\": 0.5, \"val_loss\": null}\n";
  const auto r = run_command(cli + " emit --job-name j", in);
  CHECK(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 6);
  CHECK(parse_emf(lines[0])["TrainingDiverged"] == 0);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto e = parse_emf(lines[i]);
    CHECK(e["Epoch"] == i + 1);
    CHECK(e["TrainingDiverged"] == 1);
  }
  CHECK(parse_emf(lines[1]).count("TrainLoss") == 0);  // JSON has no NaN: never written
  CHECK(parse_emf(lines[2])["TrainLoss"] == 0.5);
  // The words are values only outside strings.
  const auto quoted =
      run_command(cli + " emit", "{\"epoch\": 1, \"train_loss\": \"NaN\", \"val_loss\": 1}\n");
  CHECK(quoted.exit_code == 1);
  CHECK(quoted.err.find("line 1: \"train_loss\" is not a number (string)") != std::string::npos);
}

TEST_CASE("emit: --passthrough writes every other line unchanged and in order") {
  const std::string emf =
      R"({"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1})";
  const std::string in =
      "Loading data, 3 files\n"
      "epoch,train_loss,val_loss\n"
      "1,0.9,1.0\n"
      "[info] {\"epoch\": 1, \"lr\": 0.1}\n"
      "{\"step\": 10, \"loss\": 0.3}\n"
      "\n" +
      emf +
      "\n"
      "{\"epoch\": 2, \"train_loss\": 0.8, \"val_loss\": 0.9}\n"
      "  indented, with \"quotes\" and trailing spaces  \n"
      "done\n";
  const auto r = run_command(cli + " emit --passthrough --job-name j", in);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "Loading data, 3 files\n");
  CHECK(lines[1] == "epoch,train_loss,val_loss\n");  // a header is not an evaluation (L5)
  CHECK(parse_emf(lines[2])["Epoch"] == 1);
  CHECK(lines[3] == "[info] {\"epoch\": 1, \"lr\": 0.1}\n");
  CHECK(lines[4] == "{\"step\": 10, \"loss\": 0.3}\n");
  CHECK(lines[5] == "\n");
  CHECK(lines[6] == emf + "\n");
  CHECK(parse_emf(lines[7])["Epoch"] == 2);
  CHECK(lines[8] == "  indented, with \"quotes\" and trailing spaces  \n");
  CHECK(lines[9] == "done\n");
  // Without the flag, the same log lines are bad input, reported by number.
  const auto strict = run_command(cli + " emit --job-name j", in);
  CHECK(strict.exit_code == 1);
  CHECK(strict.err.find("line 1: header must name") != std::string::npos);
  CHECK(lines_of(strict.out).size() == 2);
  // An evaluation that is wrong is still reported, not passed through.
  const auto wrong = run_command(cli + " emit --passthrough",
                                 "{\"epoch\": 1.5, \"train_loss\": 1, \"val_loss\": 1}\n");
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.out.empty());
  CHECK(wrong.err.find("line 1: \"epoch\" must be an integer, got 1.5") != std::string::npos);
}

TEST_CASE(
    "emit: an epoch or timestamp that is not an integer in range is rejected by line number") {
  // Each of these once gave a line `validate` rejects or an epoch of
  // -9223372036854775808, or was silently cut (1.7 -> 1), with exit 0.
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {R"({"epoch": 1, "train_loss": 1, "val_loss": 1, "timestamp": -5})",
       "\"timestamp\" must not be negative"},
      {R"({"epoch": 1, "train_loss": 1, "val_loss": 1, "timestamp": 1e300})",
       "\"timestamp\" 1e+300 is out of range"},
      {R"({"epoch": 1, "train_loss": 1, "val_loss": 1, "timestamp": 1.5})",
       "\"timestamp\" must be an integer"},
      {R"({"epoch": 1e300, "train_loss": 1, "val_loss": 1})", "\"epoch\" 1e+300 is out of range"},
      {R"({"epoch": 9223372036854775808, "train_loss": 1, "val_loss": 1})",
       "\"epoch\" 9223372036854775808 is out of range"},
      {R"({"epoch": -9223372036854775809, "train_loss": 1, "val_loss": 1})",
       "\"epoch\" -9.22337203685478e+18 is out of range"},
      {R"({"epoch": null, "train_loss": 1, "val_loss": 1})", "\"epoch\" is not a number (null)"},
      {R"({"epoch": NaN, "train_loss": 1, "val_loss": 1})", "\"epoch\" must be an integer"},
      {R"({"epoch": 1.7, "train_loss": 1, "val_loss": 1})",
       "\"epoch\" must be an integer, got 1.7"},
      {"1.7,1,1", "epoch must be an integer, got 1.7"},
      {"1e300,1,1", "epoch 1e+300 is out of range"},
      {"-9223372036854775809,1,1", "epoch -9223372036854775809 is out of range"},
      {"9223372036854775808,1,1", "epoch 9223372036854775808 is out of range"},
      {"nan,1,1", "epoch must be an integer"},
  };
  for (const auto& [line, message] : hostile) {
    CAPTURE(line);
    const auto r = run_command(cli + " emit", "1,0.5,0.5\n" + line + "\n");
    CHECK(r.exit_code == 1);
    CHECK(lines_of(r.out).size() == 1);
    CHECK(r.err.find("line 2: " + message) != std::string::npos);
  }
  // Integral values in range are taken exactly, whatever their spelling.
  const auto ok =
      run_command(cli + " emit",
                  "{\"epoch\": -9223372036854775808, \"train_loss\": 1, \"val_loss\": 1}\n"
                  "{\"epoch\": 9223372036854775807, \"train_loss\": 1, \"val_loss\": 1, "
                  "\"timestamp\": 1700000000000}\n"
                  "{\"epoch\": 3.0, \"train_loss\": 1, \"val_loss\": 1, \"timestamp\": 1.7e12}\n"
                  "-4,1,1\n");
  CHECK(ok.exit_code == 0);
  const auto lines = lines_of(ok.out);
  REQUIRE(lines.size() == 4);
  CHECK(parse_emf(lines[0])["Epoch"] == INT64_MIN);  // written as an integer: exact
  CHECK(parse_emf(lines[1])["Epoch"] == INT64_MAX);
  CHECK(parse_emf(lines[1])["_aws"]["Timestamp"] == 1700000000000);
  CHECK(parse_emf(lines[2])["Epoch"] == 3);
  CHECK(parse_emf(lines[2])["_aws"]["Timestamp"] == 1700000000000);
  CHECK(parse_emf(lines[3])["Epoch"] == -4);
  CHECK(run_command(cli + " validate", ok.out).exit_code == 0);
}

TEST_CASE("emit: a stdout that cannot be written fails the command") {
  const fitwatch::test::temp_dir dir;
  const std::string in = dir.file("in.csv"), err = dir.file("err.txt");
  std::ofstream(in) << "1,0.5,0.6\n2,0.4,0.6\n";
  const auto exit_code = [&](const std::string& redirect) {
    const int status = std::system((cli + " emit < " + in + " 2> " + err + " " + redirect).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(exit_code("> /dev/full") == 2);
  CHECK(fitwatch::test::slurp(err).find("2 lines could not be written to stdout") !=
        std::string::npos);
  CHECK(exit_code(">&-") == 2);
  CHECK(fitwatch::test::slurp(err).find("stdout is closed") != std::string::npos);
  CHECK(exit_code("> /dev/null") == 0);
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
  const auto r = fitwatch::emf::validate_line(e.dump());
  CHECK(r.kind == fitwatch::emf::line_kind::invalid);
}

TEST_CASE("schema prints the library's metrics") {
  const auto r = run_command(cli + " schema Custom/NS");
  REQUIRE(r.exit_code == 0);
  const auto s = json::parse(r.out);
  CHECK(s["Namespace"] == "Custom/NS");
  CHECK(json::parse(fitwatch::schema_json("Custom/NS")) == s);
  CHECK(s["Metrics"].size() == fitwatch::signal_metrics.size());
}

namespace {
const std::string tmpl = std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml";
const std::string params = " --param TrainingJobName=j --param TeamEmails=a@example.com";

}  // namespace

TEST_CASE("replay: bad log lines are reported with their number and skipped, never a crash") {
  const std::int64_t t0 = 1750000000000;
  std::string log = fitwatch::test::verdict_line(t0, 0) + "\n";
  log += fitwatch::test::verdict_line(t0 + 30000, 1).substr(0, 60) + "\n";         // 2: truncated
  log += "{\"_aws\": \"\xff\xfe\", \"x\": 1}\n";                                   // 3: not UTF-8
  log += "{\"_aws\":{},\"pad\":\"" + std::string(2 * 1024 * 1024, 'p') + "\"}\n";  // 4: 2 MB
  log += "plain text from the training program\n";                                 // 5: plain
  log += fitwatch::test::verdict_line(t0 + 60000, 1) + "\n";                       // 6
  const auto r = run_command(cli + " replay --tail 0 --template " + tmpl + params, log);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("<stdin>:2: invalid EMF, skipped: not valid JSON") != std::string::npos);
  CHECK(r.err.find("<stdin>:3: invalid EMF, skipped") != std::string::npos);
  // Longer than any reader keeps (1 MB, CloudWatch Logs' largest event).
  CHECK(r.err.find("<stdin>:4: line longer than 1048576 bytes (skipped)") != std::string::npos);
  CHECK(r.err.find("<stdin>:5:") == std::string::npos);
  CHECK(r.out.find("j-fitwatch-overfitting  OK -> ALARM") != std::string::npos);
  CHECK(r.out.find("(5 lines, 2 EMF events, 2 invalid)") != std::string::npos);
}

TEST_CASE("replay: template problems are clear errors") {
  const fitwatch::test::temp_dir dir;
  const std::string bad = dir.file("bad_template.yaml");
  std::ofstream(bad) << "Resources:\n  A:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n"
                        "      AlarmName: !Base64 x\n      MetricName: M\n      Namespace: N\n"
                        "      Period: 60\n      ComparisonOperator: GreaterThanThreshold\n";
  auto r = run_command(cli + " replay --template " + bad, "");
  CHECK(r.exit_code == 2);
  CHECK(
      r.err.find("resource A property AlarmName: Fn::Base64 is not supported by fitwatch replay") !=
      std::string::npos);
  std::ofstream(bad) << "Resources: [unclosed\n";
  r = run_command(cli + " replay --template " + bad, "");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not valid YAML") != std::string::npos);
  r = run_command(cli + " replay --template " + tmpl + " --param TrainingJobName=j", "");
  CHECK(r.exit_code == 2);
  // TeamEmails may be empty only with the team stack's topic (TeamTopicArn).
  CHECK(r.err.find(tmpl + ": rule TeamEmailsNotEmpty failed: TeamEmails must list at least one "
                          "address") != std::string::npos);
  r = run_command(
      cli + " replay --template " + tmpl + " --param TrainingJobName=j --param TeamEmails=nope",
      "");
  CHECK(r.err.find("parameter TeamEmails: 'nope' does not match AllowedPattern") !=
        std::string::npos);
  CHECK(run_command(cli + " replay", "").exit_code == 2);
  CHECK(run_command(cli + " replay --template " + tmpl + " --tail 5x" + params, "").exit_code == 2);
}

namespace {
// A metric-math alarm on FitWatch/M (J=x) with `expression` as e.
std::string math_alarm_yaml(const std::string& expression) {
  return "Resources:\n  A:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n"
         "      AlarmName: a\n      EvaluationPeriods: 1\n      Threshold: 0\n"
         "      ComparisonOperator: GreaterThanThreshold\n      Metrics:\n"
         "        - Id: m\n          ReturnData: false\n          MetricStat:\n"
         "            Metric: {Namespace: FitWatch, MetricName: M,"
         " Dimensions: [{Name: J, Value: x}]}\n"
         "            Period: 60\n            Stat: Maximum\n"
         "        - Id: e\n          Period: 60\n          Expression: \"" +
         expression + "\"\n";
}
}  // namespace

TEST_CASE(
    "replay and watch: metric math with the wrong arity is a message and exit 2, not an abort") {
  const fitwatch::test::temp_dir dir;
  const std::string path = dir.file("math.yaml");
  const std::string line =
      R"({"_aws":{"Timestamp":1750000000000,"CloudWatchMetrics":[{"Namespace":"FitWatch",)"
      R"("Dimensions":[["J"]],"Metrics":[{"Name":"M"}]}]},"J":"x","M":1})"
      "\n";
  // Metric math with the wrong number of arguments used to be found only
  // while evaluating, outside any try: replay aborted (rc 134). It is found
  // when the template is read.
  std::ofstream(path) << math_alarm_yaml("FILL(m)");
  for (const char* command : {" replay", " watch"}) {
    const auto r = run_command(cli + command + " --template " + path, line);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("metric math: FILL takes 2 arguments, not 1 in: FILL(m)") !=
          std::string::npos);
  }
}

TEST_CASE("watch: every line passes through unchanged, transitions go to stderr") {
  const std::int64_t t0 = 1750000000000;
  std::string log;
  for (int i = 0; i < 6; ++i)
    log += "epoch " + std::to_string(i) + "\n" +
           fitwatch::test::verdict_line(t0 + i * 30000, i >= 4 ? 1 : 0) + "\n";
  log += "no newline at the end";
  const auto r = run_command(cli + " watch --tail 0 --template " + tmpl + params, log);
  CHECK(r.exit_code == 0);
  CHECK(r.out == log + "\n");
  CHECK(r.err.find("j-fitwatch-alert  OK -> ALARM") != std::string::npos);
  CHECK(r.err.find("j-fitwatch-overfitting  OK -> ALARM") != std::string::npos);
  CHECK(r.err.find("email to a@example.com") != std::string::npos);
  const auto j =
      run_command(cli + " watch --format json --tail 0 --template " + tmpl + params, log);
  bool alarm = false;
  for (const auto& l : lines_of(j.err)) {
    const auto t = json::parse(l);
    alarm |= t["alarm"] == "j-fitwatch-alert" && t["new_state"] == "ALARM";
  }
  CHECK(alarm);
}

TEST_CASE("every command answers --help with its usage on stdout and exit 0") {
  for (const char* command : {"validate", "schema", "replay", "watch", "emit"}) {
    for (const char* flag : {" --help", " -h"}) {
      INFO(command << flag);
      const auto r = run_command(cli + " " + command + flag, "");
      CHECK(r.exit_code == 0);
      CHECK(has_usage(r.out + r.err, command));
    }
  }
  // Not a file named --help, not a schema for the namespace --help.
  CHECK(run_command(cli + " validate --help", "").err.empty());
  CHECK(run_command(cli + " schema --help", "").out.find("\"Namespace\"") == std::string::npos);
  CHECK(run_command(cli + " schema --bogus", "").exit_code == 2);
  CHECK(run_command(cli + " schema A B", "").exit_code == 2);
  CHECK(run_command(cli + " validate --bogus", "").exit_code == 2);
}

TEST_CASE("validate and replay: a directory given as a log is an error, not an empty log") {
  const fitwatch::test::temp_dir dir;
  auto r = run_command(cli + " validate " + dir.path().string());
  CHECK(r.exit_code == 2);
  CHECK(r.err == "fitwatch validate: cannot read " + dir.path().string() + ": it is a directory\n");
  r = run_command(cli + " replay --template " + tmpl + params + " " + dir.path().string());
  CHECK(r.exit_code == 2);
  CHECK(r.err == "fitwatch replay: cannot read " + dir.path().string() + ": it is a directory\n");
  r = run_command(cli + " validate " + dir.file("missing.log"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("No such file or directory") != std::string::npos);
}

TEST_CASE("validate: invalid UTF-8 is reported as such, with its line number") {
  const auto r =
      run_command(cli + " validate",
                  "plain\n{\"_aws\":{\"Timestamp\":1,\"CloudWatchMetrics\":[]},"
                  "\"x\":\"\xff\"}\n{\"_aws\":{\"Timestamp\":1,\"CloudWatchMetrics\":[]},"
                  "\"x\":NaN}\n");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("<stdin>:2: invalid EMF: not valid UTF-8") != std::string::npos);
  CHECK(r.err.find("<stdin>:3: invalid EMF: not valid JSON (NaN and Infinity are not JSON)") !=
        std::string::npos);
}

TEST_CASE("replay and watch: a Number --param or --tail that is not a finite number is an error") {
  for (const char* command : {" replay", " watch"}) {
    for (const char* value : {"nan", "NaN", "inf", "-inf", "1e999", "0x10", "1.5abc", ""}) {
      INFO(command << " RiseStreakThreshold=" << value);
      const auto r = run_command(
          cli + command + " --template " + tmpl + params + " --param RiseStreakThreshold=" + value,
          fitwatch::test::verdict_line(1750000000000, 0) + "\n");
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("RiseStreakThreshold") != std::string::npos);
    }
    for (const char* tail : {"nan", "inf", "1e300h", "-5m", "m", "5x", "0x10s"}) {
      INFO(command << " --tail " << tail);
      const auto r = run_command(cli + command + " --template " + tmpl + params + " --tail " + tail,
                                 fitwatch::test::verdict_line(1750000000000, 0) + "\n");
      CHECK(r.exit_code == 2);
      CHECK(r.err.find(std::string("duration '") + tail + "'") != std::string::npos);
    }
  }
}

// ---- any metric: --monitor and --mode (issue 13, part 4) ------------------

namespace {
// A validation accuracy that peaks at evaluation 12 and falls, with a little
// deterministic noise, while the training loss still falls: overfitting.
double accuracy_at(int i) {
  return 0.9 - 0.0008 * (i - 12) * (i - 12) + 0.002 * std::sin(1.7 * i);
}
double train_loss_at(int i) {
  return 0.4 * std::exp(-0.05 * i);
}
double val_loss_at(int i) {
  return 0.5 + 0.001 * i;
}

std::string accuracy_csv() {
  std::string csv = "epoch,train_loss,val_loss,val_acc\n";
  for (int i = 0; i < 30; ++i) {
    csv += std::to_string(i + 1) + "," + json(train_loss_at(i)).dump() + "," +
           json(val_loss_at(i)).dump() + "," + json(accuracy_at(i)).dump() + "\n";
  }
  return csv;
}
}  // namespace

TEST_CASE("emit --mode max: an accuracy that peaks and falls alarms, and only with max") {
  // Smoothing 0.7: the smoothed peak is at epoch 13 with it (the default
  // until tune.py chose 0.5).
  const auto r = run_command(
      cli + " emit --job-name j --monitor val_acc --mode max --smoothing 0.7", accuracy_csv());
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 30);
  int first_alarm = 0;
  for (const auto& l : lines) {
    const auto e = parse_emf(l);
    if (first_alarm == 0 && e["OverfittingDetected"] == 1) {
      first_alarm = e["Epoch"].get<int>();
      const auto reason = e["OverfittingReason"].get<std::string>();
      CHECK(reason.rfind("val_acc ", 0) == 0);
      CHECK(reason.find("below its best") != std::string::npos);
    }
  }
  CHECK(first_alarm > 13);  // after the peak (epoch 13)
  const auto last = parse_emf(lines.back());
  CHECK(last["val_acc"] == accuracy_at(29));
  CHECK(last["BestEpoch"] == 13);
  CHECK(last["Bestval_acc"].get<double>() > 0.89);  // the smoothed peak
  CHECK_FALSE(last.contains("BestValidationLoss"));
  CHECK(last["ValidationLoss"] == val_loss_at(29));
  CHECK(run_command(cli + " validate", r.out).exit_code == 0);
  // Read as lower-is-better (the mode ignored), the rise while the model
  // learns is the "overfitting" and the fall an improvement.
  const auto min = run_command(cli + " emit --job-name j --monitor val_acc", accuracy_csv());
  int min_alarm = 0;
  for (const auto& l : lines_of(min.out)) {
    const auto e = parse_emf(l);
    if (min_alarm == 0 && e["OverfittingDetected"] == 1) min_alarm = e["Epoch"].get<int>();
  }
  CHECK(min_alarm < 13);
}

TEST_CASE("emit --monitor: a missing column or key is a bad line, a bad name or mode exit 2") {
  // No header: the named metric has no column.
  auto r = run_command(cli + " emit --monitor val_f1", "1,0.5,0.6\n");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("line 1: no column val_f1 (the monitored metric): name it in a header line") !=
        std::string::npos);
  r = run_command(cli + " emit --monitor val_f1", "epoch,train_loss,val_loss\n1,0.5,0.6\n");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("line 1: header must name the monitored metric val_f1") != std::string::npos);
  r = run_command(cli + " emit --monitor val_f1",
                  "{\"epoch\": 1, \"train_loss\": 0.5, \"val_loss\": 0.6}\n"
                  "{\"epoch\": 2, \"train_loss\": 0.5, \"val_loss\": 0.6, \"val_f1\": 0.7}\n");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("line 1: missing \"val_f1\"") != std::string::npos);
  REQUIRE(lines_of(r.out).size() == 1);
  CHECK(parse_emf(lines_of(r.out)[0])["val_f1"] == 0.7);
  // Hostile settings: the key and the value, exit 2, nothing written.
  r = run_command(cli + " emit --mode maximum", "");
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("fitwatch emit: setting --mode=\"maximum\": not min or max\n", 0) == 0);
  r = run_command(cli + " emit --monitor 'a\tb\xff'", "1,0.5,0.6\n");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("fitwatch emit: setting --monitor=") == 0);
  CHECK(r.err.find("invalid metric name") != std::string::npos);
  CHECK(r.out.empty());
  r = run_command("FITWATCH_MONITOR=OverfittingDetected " + cli + " emit", "1,0.5,0.6\n");
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("fitwatch emit: setting FITWATCH_MONITOR=\"OverfittingDetected\": monitored "
                    "metric \"OverfittingDetected\": OverfittingDetected is a name fitwatch "
                    "already writes on the line\n",
                    0) == 0);
}

TEST_CASE("schema --monitor --mode: the named metric and its best, the rest unchanged") {
  const auto r = run_command(cli + " schema --monitor val_f1 --mode max");
  REQUIRE(r.exit_code == 0);
  const auto s = json::parse(r.out);
  fitwatch::detector_options o;
  o.monitor = "val_f1";
  o.mode = fitwatch::direction::max;
  CHECK(json::parse(fitwatch::schema_json("FitWatch", o)) == s);
  CHECK(s["Monitor"]["Mode"] == "max");
  std::set<std::string> names;
  for (const auto& m : s["Metrics"]) names.insert(m["Name"].get<std::string>());
  CHECK(names.count("val_f1") == 1);
  CHECK(names.count("Bestval_f1") == 1);
  CHECK(names.count("BestValidationLoss") == 0);
  CHECK(names.count("OverfittingDetected") == 1);
  CHECK(s["Metrics"].size() == fitwatch::signal_metrics.size() + 1);
  const auto bad = run_command(cli + " schema --mode up");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.rfind("fitwatch schema: setting --mode=\"up\": not min or max\n", 0) == 0);
  CHECK(run_command(cli + " schema --monitor").exit_code == 2);
}

TEST_CASE("a mode max metric end to end: emit | replay through the template emails the team") {
  // JSON lines one minute apart, as a real job writes them.
  const std::int64_t t0 = 1750000000000;
  std::string in;
  for (int i = 0; i < 30; ++i) {
    in += json{{"epoch", i + 1},
               {"train_loss", train_loss_at(i)},
               {"val_loss", val_loss_at(i)},
               {"val_acc", accuracy_at(i)},
               {"timestamp", t0 + i * 60000}}
              .dump() +
          "\n";
  }
  const auto replay = [&](const std::string& mode, const std::string& outbox) {
    const auto emitted =
        run_command(cli + " emit --job-name j --monitor val_acc --mode " + mode, in);
    REQUIRE(emitted.exit_code == 0);
    return run_command(cli + " replay --tail 0 --template " + tmpl + params + " --outbox " + outbox,
                       emitted.out);
  };
  // The epoch of the composite alarm's first OK -> ALARM transition.
  const auto alarm_epoch = [](const std::string& out) {
    const std::string mark = "j-fitwatch-alert  OK -> ALARM  (epoch ";
    const auto at = out.find(mark);
    return at == std::string::npos ? -1 : std::stoi(out.substr(at + mark.size()));
  };
  const fitwatch::test::temp_dir dir;
  const auto r = replay("max", dir.file("max"));
  CHECK(r.exit_code == 0);
  CHECK(alarm_epoch(r.out) > 13);  // after the peak of the accuracy (epoch 13)
  std::vector<std::string> emails;
  for (const auto& f : std::filesystem::directory_iterator(dir.file("max"))) {
    emails.push_back(fitwatch::test::slurp(f.path().string()));
  }
  REQUIRE(emails.size() == 1);
  CHECK(emails[0].find("To: a@example.com") != std::string::npos);
  // The formatter's email (templates/functions/formatter.py), from the verdict's alarm.
  CHECK(emails[0].find("Subject: fitwatch: j is overfitting at epoch ") != std::string::npos);
  // The mode ignored: the email goes out while the model still learns.
  const auto early = replay("min", dir.file("min"));
  CHECK(early.exit_code == 0);
  CHECK(alarm_epoch(early.out) < 13);
}
