// The detector's option table (the detector owns it; settings, the C ABI
// and `fitwatch emit` read it) and the options that shape its noise unit.
#include <cmath>
#include <set>
#include <string>

#include "fitwatch/detector.hpp"
#include "fitwatch/settings.hpp"
#include "support.hpp"

using fitwatch::detector;
using fitwatch::detector_options;

TEST_CASE("the detector's option table: every option once, its member, its text") {
  std::set<std::string> names;
  for (const auto& o : fitwatch::detector_option_table()) {
    CHECK(names.insert(std::string(o.name)).second);
    CHECK_FALSE(o.type.empty());
    CHECK_FALSE(o.description.empty());
    CHECK(fitwatch::detector_option_of(o.name) == &o);
  }
  CHECK(fitwatch::detector_option_of("namespace") == nullptr);  // the logger's
  const auto values = fitwatch::detector_option_values(detector_options{});
  CHECK(values.size() == names.size());

  detector_options o;
  o.smoothing = 0.25;
  o.warmup = 7;
  o.check_finite = false;
  o.mode = fitwatch::direction::max;
  const auto text = [&](const char* name) {
    return fitwatch::detector_option_text(o, fitwatch::detector_option_of(name)->member);
  };
  CHECK(text("smoothing") == "0.25");
  CHECK(text("warmup") == "7");
  CHECK(text("check_finite") == "false");
  CHECK(text("mode") == "max");
  CHECK(text("divergence_threshold") == "inf");
  CHECK(text("monitor") == "ValidationLoss");
}

TEST_CASE("the settings table is the detector's table, then the logger's settings") {
  const auto& table = fitwatch::detector_option_table();
  const auto& specs = fitwatch::setting_specs();
  REQUIRE(specs.size() == table.size() + 4);
  for (std::size_t i = 0; i < table.size(); ++i) {
    CHECK(specs[i].name == table[i].name);
    CHECK(specs[i].type == table[i].type);
    CHECK(specs[i].description == table[i].description);
  }
  // Each detector setting reads and writes the member the detector names.
  fitwatch::settings s;
  fitwatch::apply_setting(s, "noise_detrend", "false");
  CHECK_FALSE(s.detector.noise_detrend);
  fitwatch::apply_setting(s, "noise_detrend", "True");
  CHECK(s.detector.noise_detrend);
  CHECK(fitwatch::setting_value(s, "noise_detrend") == "true");
  CHECK(fitwatch::detector_option_values(s.detector).at("noise_detrend") == "true");
}

TEST_CASE("noise_detrend: a steady rise is not noise, and does not widen the unit") {
  // A rise of 0.01 per evaluation, with +-0.002 around it: the changes are
  // 0.012 and 0.008 in turn (median |change| 0.01), their spread around
  // their median 0.002.
  std::vector<double> val;
  for (int i = 0; i < 12; ++i) val.push_back(1.0 + 0.01 * i + (i % 2 == 0 ? 0.001 : -0.001));
  const auto noise_with = [&](bool detrend) {
    detector_options o;
    o.noise_detrend = detrend;
    detector d{o};
    double n = 0;
    for (const double v : val) n = d.update({0.1, v}).noise;
    return n;
  };
  CHECK(noise_with(false) == doctest::Approx(0.01 * 1.4826 / std::sqrt(2.0)));
  CHECK(noise_with(true) == doctest::Approx(0.002 * 1.4826 / std::sqrt(2.0)));

  // On a flat curve both read the same unit.
  val = {1.0, 0.99, 1.02, 1.0, 1.01, 0.96, 0.98, 1.0};
  CHECK(noise_with(true) == doctest::Approx(noise_with(false)).epsilon(0.5));
}

TEST_CASE("noise_detrend is one of the options a saved state must match") {
  detector_options on;
  on.noise_detrend = !detector_options{}.noise_detrend;
  detector a{on};
  a.update({1.0, 1.0});
  detector b;
  CHECK_THROWS_WITH_AS(b.restore_state(a.save_state()), doctest::Contains("noise_detrend"),
                       fitwatch::error);
  detector c{on};
  c.restore_state(a.save_state());
  CHECK(c.current().evaluation == 0);
}
