// Settings from hyperparameters and environment variables (one naming rule),
// the table in docs/settings.md, and the settings' rank gate (what the
// environment itself says, the rank, the host and hyperparameters.json, is
// test_sagemaker.cpp).
#include "fitwatch/settings.hpp"

#include "fitwatch/monitor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>

#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using fitwatch::settings;

using fitwatch::test::error_of;
using fitwatch::test::scoped_env;

namespace {}  // namespace

TEST_CASE("hyperparameters as the SageMaker SDK writes them: text, True/False, JSON-quoted") {
  settings s;
  fitwatch::apply_hyperparameters(s, {{"fitwatch_smoothing", "0.5"},
                                      {"fitwatch_patience", "\"7\""},
                                      {"fitwatch_check_finite", "False"},
                                      {"fitwatch_stop_on_overfitting", "\"false\""},
                                      {"fitwatch_namespace", "\"Team/Models\""},
                                      {"fitwatch_write_ranks", "all"},
                                      {"preset", "overfit"}});  // not ours: left to the caller
  CHECK(s.detector.smoothing == 0.5);
  CHECK(s.detector.patience == 7);
  CHECK_FALSE(s.detector.check_finite);
  CHECK_FALSE(s.detector.stop_on_overfitting);
  CHECK(s.namespace_name == "Team/Models");
  CHECK(s.ranks == fitwatch::write_ranks::all);
  CHECK(fitwatch::parse_boolean("True", "k"));
  CHECK(fitwatch::parse_boolean("true", "k"));
  CHECK_FALSE(fitwatch::parse_boolean("0", "k"));
}

TEST_CASE("a bad setting is rejected with its key and value, the settings stay unchanged") {
  settings s;
  const auto before = fitwatch::setting_value(s, "smoothing");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_smoothing", "abc"}});
        }) == "fitwatch: setting fitwatch_smoothing=\"abc\": not a number");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_smoothing", "1.5"}});
        }) ==
        "fitwatch: setting fitwatch_smoothing=\"1.5\": detector smoothing must be in (0, 1], got "
        "1.500000");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_patience", "-1"}});
        }) == "fitwatch: setting fitwatch_patience=\"-1\": not a whole number >= 0");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_warmup", "3.5"}});
        }) == "fitwatch: setting fitwatch_warmup=\"3.5\": not a whole number >= 0");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_check_finite", "yes"}});
        }) ==
        "fitwatch: setting fitwatch_check_finite=\"yes\": not a boolean (True, False, true, "
        "false, 1, 0)");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_smoothnig", "0.5"}});
        }) == "fitwatch: unknown setting fitwatch_smoothnig (docs/settings.md lists them)");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_min_delta", "\"0.1"}});
        }) == "fitwatch: setting fitwatch_min_delta=\"\"0.1\": not a number");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_min_delta", "\"\\x\""}});
        }).find("malformed JSON-quoted value") != std::string::npos);
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_min_delta", "nan"}});
        }) == "fitwatch: setting fitwatch_min_delta=\"nan\": not a number");
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_namespace", ""}});
        }).rfind("fitwatch: setting fitwatch_namespace=\"\": ", 0) == 0);
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_write_ranks", "1"}});
        }) == "fitwatch: setting fitwatch_write_ranks=\"1\": not 0 or all");
  // A hostile key or value is cut in the message.
  const std::string huge(100000, 'x');
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_smoothing", huge}});
        }).size() < 600);
  CHECK(fitwatch::setting_value(s, "smoothing") == before);
}

TEST_CASE("FITWATCH_<NAME> variables set the same settings, hyperparameters override them") {
  const scoped_env env{{{"FITWATCH_SMOOTHING", "0.25"},
                        {"FITWATCH_RISE_PATIENCE", "3"},
                        {"FITWATCH_JOB_NAME", "from-env"},
                        {"FITWATCH_NOT_A_SETTING", "ignored"}}};
  settings s = fitwatch::read_settings();
  CHECK(s.detector.smoothing == 0.25);
  CHECK(s.detector.rise_patience == 3);
  CHECK(s.job_name == "from-env");
  fitwatch::apply_hyperparameters(s, {{"fitwatch_smoothing", "0.5"}});
  CHECK(s.detector.smoothing == 0.5);
  CHECK(s.detector.rise_patience == 3);
}

TEST_CASE("a bad FITWATCH_ variable is named in the error") {
  const scoped_env env{{{"FITWATCH_GL_THRESHOLD", "five"}}};
  CHECK(error_of([] { fitwatch::read_settings(); }) ==
        "fitwatch: setting FITWATCH_GL_THRESHOLD=\"five\": not a number");
}

TEST_CASE("every setting reads back what it writes and changes its own field") {
  const settings defaults;
  for (const auto& spec : fitwatch::setting_specs()) {
    const std::string name(spec.name);
    INFO(name);
    settings s;
    // The default's text reads back to the default.
    fitwatch::apply_setting(s, name, fitwatch::setting_value(defaults, name));
    CHECK(fitwatch::setting_value(s, name) == fitwatch::setting_value(defaults, name));
    // Another valid value changes this setting and no other.
    const std::string other = spec.type == "boolean"
                                  ? (fitwatch::setting_value(s, name) == "true" ? "false" : "true")
                              : spec.type == "text"       ? "Other"
                              : spec.type == "0 or all"   ? "all"
                              : spec.type == "min or max" ? "max"
                              : name == "smoothing"       ? "0.5"
                                                          : "4";
    fitwatch::apply_setting(s, name, other);
    CHECK(fitwatch::setting_value(s, name) == other);
    for (const auto& o : fitwatch::setting_specs()) {
      if (o.name != spec.name) {
        CHECK(fitwatch::setting_value(s, o.name) == fitwatch::setting_value(defaults, o.name));
      }
    }
  }
}

TEST_CASE("docs/settings.md lists every setting with its names, type and default") {
  const auto doc = fitwatch::test::slurp(std::string(FITWATCH_SOURCE_DIR) + "/docs/settings.md");
  // | `fitwatch_x` | `FITWATCH_X` | type | `default` | description |  (an empty default: empty
  // cell)
  const std::regex row(
      R"(^\| `fitwatch_([a-z_]+)` \| `([A-Z_]+)` \| ([^|]+) \| (?:`([^`]*)`)? \| ([^|]+) \|$)");
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : fitwatch::test::lines_of(doc)) {
    std::smatch m;
    const std::string l = line.substr(0, line.find_last_not_of("\r\n") + 1);
    if (std::regex_match(l, m, row)) rows.push_back({m[1], m[2], m[3], m[4], m[5]});
  }
  const auto& specs = fitwatch::setting_specs();
  REQUIRE(rows.size() == specs.size());
  const settings defaults;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    INFO(specs[i].name);
    CHECK(rows[i][0] == specs[i].name);
    CHECK(rows[i][1] == fitwatch::environment_variable_of(specs[i].name));
    CHECK(rows[i][2] == specs[i].type);
    CHECK(rows[i][3] == fitwatch::setting_value(defaults, specs[i].name));
    CHECK(rows[i][4] == specs[i].description);
  }
}

TEST_CASE("torchrun's RANK, LOCAL_RANK, WORLD_SIZE, only rank 0 writes unless write_ranks=all") {
  SUBCASE("outside torchrun: rank 0 of 1, writes") {
    const auto r = fitwatch::read_process_rank();
    CHECK(r.rank == 0);
    CHECK(r.world_size == 1);
    CHECK(settings{}.writes_metrics(r));
  }
  SUBCASE("rank 1 of 2 writes nothing, its detector still runs") {
    const scoped_env env{{{"RANK", "1"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "2"}}};
    const auto r = fitwatch::read_process_rank();
    CHECK(r.rank == 1);
    CHECK(r.local_rank == 1);
    settings s;
    CHECK_FALSE(s.writes_metrics(r));
    auto options = s.logger_options_for(r);
    options.background_writer = false;
    options.flush_on_sigterm = false;
    {
      fitwatch::logger log{options};
      fitwatch::monitor mon{log};
      for (int e = 1; e <= 3; ++e) mon.observe(e, {0.5, 0.6});
      CHECK(mon.get_detector().current().evaluation == 2);
    }
    s.ranks = fitwatch::write_ranks::all;
    CHECK(s.writes_metrics(r));
    // stdout, set explicitly: the default output would apply FITWATCH_WRITE_RANKS instead.
    CHECK(std::dynamic_pointer_cast<fitwatch::fd_sink>(s.logger_options_for(r).output) != nullptr);
  }
  // Report, and keep writing (issue 25, M2): a bad variable is read as
  // unset, so the process counts as rank 0 and writes.
  SUBCASE("hostile values are reported with the variable's name; the process writes") {
    const scoped_env env{{{"RANK", "2"}, {"WORLD_SIZE", "2"}}};
    fitwatch::test::capture_reports reports;
    const auto r = fitwatch::read_process_rank();
    CHECK(r.rank == 0);
    CHECK(r.world_size == 1);
    CHECK(settings{}.writes_metrics(r));
    const auto m = reports.all();
    REQUIRE(m.size() == 1);
    CHECK(m[0].find("RANK=2: not below WORLD_SIZE 2") != std::string::npos);
  }
  SUBCASE("a rank that is not a number is reported; -1 means unset") {
    const scoped_env env{{{"RANK", "x1"}, {"LOCAL_RANK", "-1"}}};
    fitwatch::test::capture_reports reports;
    const auto r = fitwatch::read_process_rank();
    CHECK(r.rank == 0);
    CHECK(r.local_rank == 0);
    const auto m = reports.all();
    REQUIRE(m.size() == 1);  // LOCAL_RANK=-1, a launcher's "not distributed", is no error
    CHECK(m[0] == "fitwatch: setting RANK=\"x1\": not a whole number >= 0; read as unset");
  }
  SUBCASE("a bad FITWATCH_WRITE_RANKS is reported and every rank writes") {
    const scoped_env env{{{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"FITWATCH_WRITE_RANKS", "some"}}};
    fitwatch::test::capture_reports reports;
    const auto s = fitwatch::read_settings();
    CHECK(s.ranks == fitwatch::write_ranks::all);
    CHECK(fitwatch::environment_writes_metrics());
    const auto m = reports.all();
    REQUIRE_FALSE(m.empty());
    CHECK(m[0].find("FITWATCH_WRITE_RANKS") != std::string::npos);
    CHECK(m[0].find("every rank writes metric lines") != std::string::npos);
  }
}

TEST_CASE("monitor and mode: one table for hyperparameters, FITWATCH_MODE and hostile values") {
  {
    const scoped_env env{{{"FITWATCH_MONITOR", "val_f1"}, {"FITWATCH_MODE", "max"}}};
    const settings s = fitwatch::read_settings();
    CHECK(s.detector.monitor == "val_f1");
    CHECK(s.detector.mode == fitwatch::direction::max);
  }
  settings s;
  CHECK(s.detector.monitor == "ValidationLoss");  // the default: the loss, lower is better
  CHECK(s.detector.mode == fitwatch::direction::min);
  fitwatch::apply_hyperparameters(s, {{"fitwatch_mode", "\"max\""}, {"fitwatch_monitor", "auc"}});
  CHECK(s.detector.mode == fitwatch::direction::max);
  CHECK(s.detector.monitor == "auc");
  CHECK(fitwatch::setting_value(s, "mode") == "max");
  // A mode other than min or max, with the key and the value.
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_mode", "Max"}});
        }) == "fitwatch: setting fitwatch_mode=\"Max\": not min or max");
  CHECK(error_of([&] { fitwatch::apply_setting(s, "mode", "", "--mode"); }) ==
        "fitwatch: setting --mode=\"\": not min or max");
  // A metric name CloudWatch would not take, or one the line already holds.
  CHECK(error_of([&] {
          fitwatch::apply_hyperparameters(s, {{"fitwatch_monitor", ""}});
        }).rfind("fitwatch: setting fitwatch_monitor=\"\": invalid metric name", 0) == 0);
  CHECK(error_of([&] {
          fitwatch::apply_setting(s, "monitor", "a\xff", "FITWATCH_MONITOR");
        }).find("not valid UTF-8") != std::string::npos);
  CHECK(error_of([&] { fitwatch::apply_setting(s, "monitor", std::string(100000, 'm')); }).size() <
        1200);
  CHECK(error_of([&] {
          fitwatch::apply_setting(s, "monitor", "GeneralizationLoss", "--monitor");
        }).rfind("fitwatch: setting --monitor=\"GeneralizationLoss\": monitored metric", 0) == 0);
  CHECK(s.detector.monitor == "auc");  // unchanged by every failure
}

TEST_CASE("detector_field_of: the member of every detector setting, none for the logger's") {
  const auto options = fitwatch::detector_option_values(fitwatch::detector_options{});
  for (const auto& spec : fitwatch::setting_specs()) {
    INFO(spec.name);
    const auto field = fitwatch::detector_field_of(spec.name);
    CHECK(field.has_value() == (options.count(std::string(spec.name)) == 1));
  }
  CHECK_FALSE(fitwatch::detector_field_of("no_such_setting"));
  // The member is the one the setting sets.
  settings s;
  fitwatch::apply_setting(s, "warmup", "7");
  const auto warmup =
      std::get<std::size_t fitwatch::detector_options::*>(*fitwatch::detector_field_of("warmup"));
  CHECK(s.detector.*warmup == 7);
}
