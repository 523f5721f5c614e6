// The CUSUM rule: a one-sided cumulative sum of the validation loss above its
// best, in noise units (issue #24).
#include <cmath>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "fitwatch/detector.hpp"
#include "support.hpp"

using fitwatch::detector;
using fitwatch::detector_options;

namespace {

// Only the CUSUM rule speaks: the others are off, the loss is read raw.
detector_options cusum_only(double k, double h) {
  detector_options o;
  o.gl_threshold = 0;
  o.jump_sigmas = 0;
  o.trend_window = 0;
  o.window_size = 0;
  o.strong_rise_units = 0;
  o.warmup = 0;
  o.cusum_k = k;
  o.cusum_h = h;
  return o;
}

// A noisy level of 1 (Gaussian, sd 0.02, fixed seed) for `flat` evaluations,
// then a rise of `slope` per evaluation for `rise` more.
std::vector<double> curve(int flat, int rise, double slope, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::vector<double> v;
  for (int i = 0; i < flat + rise; ++i) {
    v.push_back(1.0 + (i < flat ? 0.0 : slope * (i - flat + 1)) + noise(rng));
  }
  return v;
}

// The first evaluation with a verdict, or the size when there is none. The
// training loss stays flat: the CUSUM rule must not need it to fall.
std::size_t first_alarm(detector& d, const std::vector<double>& val,
                        std::vector<fitwatch::signals>* out = nullptr) {
  std::size_t first = val.size();
  for (std::size_t i = 0; i < val.size(); ++i) {
    const auto& s = d.update({0.1, val[i]});
    if (out) out->push_back(s);
    if (s.overfitting && first == val.size()) first = i;
  }
  return first;
}

}  // namespace

TEST_CASE("CUSUM fires on a sustained rise, whatever the training loss does") {
  const auto val = curve(30, 30, 0.02);  // one noise unit per evaluation
  detector d{cusum_only(5, 24)};
  std::vector<fitwatch::signals> s;
  const auto first = first_alarm(d, val, &s);
  REQUIRE(first < val.size());
  CHECK(first >= 30);
  CHECK(first < 50);
  CHECK(s[first].reason.rfind("validation loss: its excess above its best (evaluation ", 0) == 0);
  CHECK(s[first].reason.find("(CUSUM), is ") != std::string::npos);
  SUBCASE("cusum_h 0 (the default) turns it off") {
    detector off{cusum_only(1.5, 0)};
    CHECK(first_alarm(off, val) == val.size());
  }
  SUBCASE("it needs the smoothed loss gl_threshold percent above its best") {
    // The same curve 40 times flatter: as many noise units, under 2 %.
    auto flat = val;
    for (auto& x : flat) x = 1 + (x - 1) / 40;
    detector no_floor{cusum_only(5, 24)};
    CHECK(first_alarm(no_floor, flat) == first);
    auto o = cusum_only(5, 24);
    o.gl_threshold = 2;
    detector floor{o};
    CHECK(first_alarm(floor, flat) == flat.size());
  }
  SUBCASE("the training-loss condition does not mute it") {
    auto o = cusum_only(5, 24);
    o.train_falling_t = 4;
    detector gated{o};
    CHECK(first_alarm(gated, val) == first);
  }
}

TEST_CASE("CUSUM stays quiet on flat noise (fixed seeds)") {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    INFO(seed);
    detector d{cusum_only(5, 24)};
    CHECK(first_alarm(d, curve(200, 0, 0, seed)) == 200);
  }
  // ...where a forgiveness of nothing would not: the best is the lowest
  // smoothed value, below the level, so flat noise adds up above it.
  detector eager{cusum_only(0, 24)};
  CHECK(first_alarm(eager, curve(200, 0, 0, 1)) < 200);
}

TEST_CASE("CUSUM's sum survives a save and restore") {
  const auto o = cusum_only(5, 24);
  const auto val = curve(30, 30, 0.02);
  detector whole{o};
  std::vector<fitwatch::signals> expected;
  first_alarm(whole, val, &expected);
  for (const std::size_t cut : {10u, 35u, 40u}) {
    INFO(cut);
    detector a{o};
    for (std::size_t i = 0; i < cut; ++i) a.update({0.1, val[i]});
    detector b{o};
    b.restore_state(a.save_state());
    for (std::size_t i = cut; i < val.size(); ++i) {
      INFO(i);
      const auto& s = b.update({0.1, val[i]});
      CHECK(s.overfitting == expected[i].overfitting);
      CHECK(s.reason == expected[i].reason);
    }
  }
  SUBCASE("the saved sum is a number of at least 0; a state without it starts afresh") {
    detector a{o};
    for (std::size_t i = 0; i < 40; ++i) a.update({0.1, val[i]});
    auto j = nlohmann::json::parse(a.save_state());
    REQUIRE(j.at("cusum").is_number());
    CHECK(j.at("cusum").get<double>() > 0);
    detector b{o};
    for (const char* bad : {"-1", "\"nan\"", "\"-inf\"", "\"x\""}) {
      INFO(bad);
      auto k = j;
      k["cusum"] = nlohmann::json::parse(bad);
      CHECK_THROWS_AS(b.restore_state(k.dump()), fitwatch::error);
    }
    auto k = j;
    k["cusum_since"] = j.at("count").get<std::size_t>() + 1;
    CHECK_THROWS_AS(b.restore_state(k.dump()), fitwatch::error);
    k = j;
    k.erase("cusum");
    k.erase("cusum_since");
    b.restore_state(k.dump());
    CHECK(nlohmann::json::parse(b.save_state()).at("cusum") == 0);
  }
}

TEST_CASE("CUSUM under hostile values") {
  SUBCASE("negative or NaN k and h are rejected with their names") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(detector{cusum_only(-1, 8)},
                         "fitwatch: detector cusum_k must not be negative, got -1.000000",
                         fitwatch::error);
    CHECK_THROWS_WITH_AS(detector{cusum_only(1, -8)},
                         "fitwatch: detector cusum_h must not be negative, got -8.000000",
                         fitwatch::error);
    CHECK_THROWS_AS(detector{cusum_only(nan, 8)}, fitwatch::error);
    CHECK_THROWS_AS(detector{cusum_only(1, nan)}, fitwatch::error);
  }
  SUBCASE("a NaN loss leaves the sum as it was") {
    const auto val = curve(30, 30, 0.02);
    auto o = cusum_only(5, 24);
    o.check_finite = false;
    detector plain{o};
    detector holed{o};
    std::vector<fitwatch::signals> expected;
    first_alarm(plain, val, &expected);
    for (std::size_t i = 0; i < val.size(); ++i) {
      INFO(i);
      if (i == 35) holed.update({0.1, std::numeric_limits<double>::quiet_NaN()});
      CHECK(holed.update({0.1, val[i]}).overfitting == expected[i].overfitting);
    }
  }
  SUBCASE("a huge loss fires, and the state with an infinite sum round-trips") {
    auto o = cusum_only(5, 24);
    o.divergence_threshold = std::numeric_limits<double>::infinity();
    detector d{o};
    const auto val = curve(30, 0, 0);
    for (const double x : val) CHECK_FALSE(d.update({0.1, x}).overfitting);
    CHECK(d.update({0.1, 1e308}).overfitting);
    CHECK(nlohmann::json::parse(d.save_state()).at("cusum") == "inf");
    detector e{o};
    e.restore_state(d.save_state());
    CHECK(e.save_state() == d.save_state());
  }
}
