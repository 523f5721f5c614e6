// The escapes from "while the training loss still falls": a rise so far
// above the best that the training loss does not mute it (issue #24:
// validation losses that jump by tens of percent and climb to several times
// their best while the training loss is flat).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fitwatch/detector.hpp"
#include "support.hpp"

using fitwatch::detector;
using fitwatch::detector_options;

namespace {

// The GL rule alone, muted unless the training loss falls, with the percent
// escape at `percent` for `confirm` evaluations.
detector_options percent_escape(double percent, std::size_t confirm = 2) {
  detector_options o;
  o.jump_sigmas = 0;
  o.trend_window = 0;
  o.window_size = 0;
  o.cusum_h = 0;
  o.strong_rise_units = 0;
  o.train_falling_t = 5;
  o.strong_rise_percent = percent;
  o.strong_rise_confirm = confirm;
  return o;
}

// A level of 1 with +-30 % noise from one evaluation to the next, for
// `flat` evaluations, then a climb of `step` per evaluation with the same
// noise: the noise unit is about half the level, so no rise is many units.
std::vector<double> noisy(int flat, int climb, double step) {
  std::vector<double> v;
  for (int i = 0; i < flat + climb; ++i) {
    const double level = 1.0 + (i < flat ? 0.0 : step * (i - flat + 1));
    v.push_back(level * (i % 2 ? 0.7 : 1.3));
  }
  return v;
}

// Signals after each evaluation, the training loss flat at 0.1.
std::vector<fitwatch::signals> run_flat(detector& d, const std::vector<double>& val) {
  std::vector<fitwatch::signals> out;
  for (const double v : val) out.push_back(d.update({0.1, v}));
  return out;
}

std::size_t first_alarm(const std::vector<fitwatch::signals>& s) {
  std::size_t i = 0;
  while (i < s.size() && !s[i].overfitting) ++i;
  return i;
}

}  // namespace

TEST_CASE(
    "strong_rise_percent: far above its best, for N evaluations, whatever the training loss") {
  const auto val = noisy(12, 12, 0.4);  // climbs to about five times its level
  detector d{percent_escape(200)};
  const auto s = run_flat(d, val);
  const std::size_t first = first_alarm(s);
  REQUIRE(first < s.size());
  // Fired at the first evaluation that is the second in a row beyond 200 %.
  std::size_t want = 1;
  while (want < s.size() &&
         !(s[want].generalization_loss > 200 && s[want - 1].generalization_loss > 200)) {
    ++want;
  }
  CHECK(first == want);
  CHECK_FALSE(s[first - 1].overfitting);
  CHECK(s[first].reason.find("more than 200% above its best whatever the training loss does") !=
        std::string::npos);
  CHECK(s[first].reason.find("training loss still falls") == std::string::npos);

  SUBCASE("0 turns it off: the flat training loss mutes the GL rule") {
    detector off{percent_escape(0)};
    for (const auto& x : run_flat(off, val)) CHECK_FALSE(x.overfitting);
  }
  SUBCASE("one evaluation suffices with strong_rise_confirm 1: the first beyond 200 %") {
    detector once{percent_escape(200, 1)};
    const auto s1 = run_flat(once, val);
    const std::size_t f1 = first_alarm(s1);
    REQUIRE(f1 < first);
    CHECK(s1[f1].generalization_loss > 200);
    for (std::size_t i = 0; i < f1; ++i) CHECK(s1[i].generalization_loss <= 200);
  }
}

TEST_CASE("strong_rise_percent: a noisy plateau never reaches it") {
  detector d{percent_escape(200, 1)};
  for (const auto& x : run_flat(d, noisy(200, 0, 0))) CHECK_FALSE(x.overfitting);
}

TEST_CASE("strong_rise_percent: below zero, a percent of |best|, and hostile values") {
  // A loss below zero (a negative log-likelihood) near -3 that climbs to
  // about -1.8: some 40 % of |best| above its best, every value below zero.
  auto val = noisy(12, 12, 0.1);
  for (auto& v : val) v -= 4.0;
  auto o = percent_escape(30);
  o.gl_noise_units = 0;
  detector d{o};
  const auto s = run_flat(d, val);
  const std::size_t first = first_alarm(s);
  REQUIRE(first < s.size());
  CHECK(s[first].generalization_loss > 30);
  o.strong_rise_percent = 0;
  detector off{o};
  CHECK(first_alarm(run_flat(off, val)) == val.size());

  for (const double bad : {-1.0, std::numeric_limits<double>::quiet_NaN()}) {
    const auto hostile = percent_escape(bad);
    CHECK_THROWS_WITH_AS(detector{hostile}, doctest::Contains("strong_rise_percent"),
                         fitwatch::error);
  }
  // Infinite: never reached, never fires.
  detector never{percent_escape(std::numeric_limits<double>::infinity())};
  for (const auto& x : run_flat(never, noisy(12, 12, 0.4))) CHECK_FALSE(x.overfitting);
}

TEST_CASE("strong_rise_percent with mode max: percent below the best, under 100 for a score") {
  // An accuracy that falls from about 0.9 to 0.25 (72 % below its best)
  // with +-0.05 noise while the training loss is flat.
  detector_options o = percent_escape(50);
  o.monitor = "val_acc";
  o.mode = fitwatch::direction::max;
  std::vector<fitwatch::signals> s;
  const auto feed = [&](detector& d) {
    std::vector<fitwatch::signals> out;
    for (int i = 0; i < 24; ++i) {
      fitwatch::evaluation e{0.1, 0.5};
      e.metric = (i < 12 ? 0.9 : 0.9 - 0.06 * (i - 11)) + (i % 2 ? 0.05 : -0.05);
      out.push_back(d.update(e));
    }
    return out;
  };
  detector d{o};
  s = feed(d);
  const std::size_t first = first_alarm(s);
  REQUIRE(first < s.size());
  CHECK(s[first].reason.find("more than 50% below its best whatever the training loss does") !=
        std::string::npos);
  // 200 % (the default) is never reached by a score that cannot go below 0.
  o.strong_rise_percent = 200;
  detector never{o};
  CHECK(first_alarm(feed(never)) == s.size());
}

TEST_CASE("a state saved before strong_rise_percent, noise_detrend and CUSUM existed") {
  // Such a state recorded no value for them: the detector that saved it
  // behaved as strong_rise_percent 0, strong_rise_confirm 1, noise_detrend
  // off and no CUSUM, whatever today's defaults are.
  detector_options then;
  then.strong_rise_percent = 0;
  then.strong_rise_confirm = 1;
  then.noise_detrend = false;
  then.cusum_h = 0;
  detector a{then};
  a.update({0.5, 0.6});
  auto old = nlohmann::json::parse(a.save_state());
  for (const char* name :
       {"strong_rise_percent", "strong_rise_confirm", "noise_detrend", "cusum_h"}) {
    old["options"].erase(name);
  }
  detector same{then};
  same.restore_state(old.dump());
  CHECK(same.current().best_validation == 0.6);
  detector today;  // the defaults: the escape, its confirmation, detrending and CUSUM on
  CHECK_THROWS_WITH_AS(today.restore_state(old.dump()), doctest::Contains("(missing)"),
                       fitwatch::error);
}
