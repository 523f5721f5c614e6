// The overfitting detector's rules on hand-made curves, and the monitor's line.
// Early-stopping semantics: Keras EarlyStopping (improvement iff
// current + |min_delta| < best), Lightning (check_finite,
// divergence_threshold), Prechelt 1998 (GL).
#include <cmath>
#include <functional>
#include <set>

#include "fitwatch/detector.hpp"
#include "fitwatch/monitor.hpp"
#include "support.hpp"

using fitwatch::detector;
using fitwatch::detector_options;

namespace {

// Feeds validation losses, with a training loss that falls steadily from
// 0.1 (0.001 per evaluation) as it does while a model learns, or stays flat,
// and returns the signals after each.
std::vector<fitwatch::signals> run(detector& d, const std::vector<double>& val,
                                   bool train_falls = true) {
  std::vector<fitwatch::signals> out;
  for (std::size_t i = 0; i < val.size(); ++i) {
    const double train = train_falls ? 0.1 - 0.001 * static_cast<double>(i) : 0.1;
    out.push_back(d.update({train, val[i]}));
  }
  return out;
}

// The defaults the hand-computed figures of the tests below (EMA 0.7,
// GL 5 %) were worked out with, spelt out: they hold if the defaults move.
detector_options previous_defaults() {
  detector_options o;
  o.warmup = 4;
  o.smoothing = 0.7;
  o.noise_detrend = false;
  o.gl_threshold = 5;
  o.gl_noise_units = 2;
  o.jump_sigmas = 5;
  o.trend_window = 5;
  o.trend_t = 2;
  o.trend_min_gl = 4;
  o.train_falling_t = 5;
  o.train_window = 6;
  o.strong_rise_units = 15;
  o.strong_rise_percent = 0;
  o.strong_rise_confirm = 1;
  o.window_size = 0;
  o.cusum_h = 0;
  return o;
}

detector_options only(void (*enable)(detector_options&)) {
  detector_options o;
  o.gl_threshold = 0;
  o.jump_sigmas = 0;
  o.trend_window = 0;
  o.warmup = 0;
  o.smoothing = 1;  // the rules of record read the raw validation loss
  enable(o);
  return o;
}

}  // namespace

TEST_CASE("improvement follows Keras: current + |min_delta| < best") {
  detector_options o;
  o.min_delta = 0.1;
  o.smoothing = 1;
  detector d{o};
  const auto s = run(d, {1.0, 0.91, 0.9, 0.89, 0.80, 0.78});
  // 0.91 + 0.1 >= 1.0 and 0.9 + 0.1 == 1.0: no improvement; 0.89 is one.
  CHECK(s[1].since_best == 1);
  CHECK(s[2].since_best == 2);
  CHECK(s[3].improved);
  CHECK(s[3].since_best == 0);
  CHECK(s[3].best_validation == doctest::Approx(0.89));
  CHECK(s[4].since_best == 1);  // 0.80 + 0.1 == 0.90, not < 0.89
  CHECK(s[5].improved);         // 0.78 + 0.1 < 0.89
  CHECK(s[5].best_evaluation == 5);
}

TEST_CASE("a negative threshold is rejected with its name (Keras would take |min_delta|)") {
  detector_options o;
  o.min_delta = -0.1;
  CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("min_delta must not be negative"),
                       fitwatch::error);
  o = {};
  o.jump_sigmas = -1;
  CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("jump_sigmas"), fitwatch::error);
  o = {};
  o.trend_t = std::nan("");
  CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("trend_t"), fitwatch::error);
}

TEST_CASE("gap, gap ratio and generalization loss") {
  detector_options o;
  o.smoothing = 1;
  detector d{o};
  const auto& s = d.update({0.5, 0.8});
  CHECK(s.gap == doctest::Approx(0.3));
  CHECK(s.gap_ratio == doctest::Approx(0.6));
  CHECK(s.generalization_loss == 0);
  d.update({0.4, 0.6});
  const auto& t = d.update({0.3, 0.66});
  CHECK(t.generalization_loss == doctest::Approx(10.0));
  CHECK(t.best_validation == doctest::Approx(0.6));
}

TEST_CASE("rise streak: consecutive rises, reset by any non-rise") {
  detector_options o;
  o.min_delta = 0.01;
  o.smoothing = 1;
  detector d{o};
  const auto s = run(d, {1.0, 1.1, 1.2, 1.205, 1.3, 1.4, 1.35, 1.5});
  const std::vector<std::size_t> expected = {0, 1, 2, 0, 1, 2, 0, 1};
  for (std::size_t i = 0; i < s.size(); ++i) CHECK(s[i].rise_streak == expected[i]);
}

TEST_CASE("rise-streak rule: fires on the third rise, not during warm-up") {
  auto o = only([](detector_options& x) { x.rise_patience = 3; });
  SUBCASE("fires") {
    detector d{o};
    const auto s = run(d, {0.5, 0.4, 0.45, 0.5, 0.55, 0.6});
    CHECK_FALSE(s[3].overfitting);
    CHECK(s[4].overfitting);
    CHECK(s[4].reason == "validation loss rose 3 evaluations in a row");
    CHECK(d.should_stop());
  }
  SUBCASE("warm-up") {
    o.warmup = 4;
    detector d{o};
    const auto s = run(d, {0.3, 0.4, 0.5, 0.6, 0.55});
    for (const auto& x : s) CHECK_FALSE(x.overfitting);
  }
}

TEST_CASE("patience rule (Keras EarlyStopping): fires on a plateau") {
  const auto o = only([](detector_options& x) { x.patience = 5; });
  detector d{o};
  const auto s = run(d, {0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4});
  CHECK_FALSE(s[5].overfitting);  // 4 since best
  CHECK(s[6].overfitting);        // 5 since best
  CHECK(s[6].reason == "no improvement for 5 evaluations");
}

TEST_CASE("default verdict: a plateau and a noisy but improving curve stay healthy") {
  detector d;  // defaults
  SUBCASE("plateau") {
    for (const auto& s : run(d, std::vector<double>(40, 0.4))) CHECK_FALSE(s.overfitting);
  }
  SUBCASE("noisy, improving") {
    std::vector<double> val;
    // +-2% noise around a slowly improving curve, as real validation losses have.
    for (int i = 0; i < 40; ++i) val.push_back((1.0 / (1 + 0.2 * i)) * (1 + 0.02 * ((i % 3) - 1)));
    for (const auto& s : run(d, val)) CHECK_FALSE(s.overfitting);
    CHECK_FALSE(d.should_stop());
  }
}

TEST_CASE("default verdict: smoothed loss over 5% above its best, 3 evaluations after it") {
  // EMA (0.7) of the validation loss: 1.0 .86 .678 .5534 .516 (best, #4)
  // .5398 (+4.6 %) .5819 (+12.8 %) .6296 (+22 %, second, 3 after the best).
  // (The noise floor is off here: this early the noise estimate still holds
  // the fall of the first evaluations; see the GL noise-floor test.)
  auto o = previous_defaults();
  o.gl_noise_units = 0;
  detector d{o};
  const auto s = run(d, {1.0, 0.8, 0.6, 0.5, 0.5, 0.55, 0.6, 0.65, 0.7});
  CHECK(s[4].smoothed_validation == doctest::Approx(0.51602));
  CHECK(s[4].improved);
  CHECK_FALSE(s[6].overfitting);  // above 5 % once, 2 after the best
  CHECK(s[7].overfitting);
  CHECK(s[7].generalization_loss == doctest::Approx(22.01).epsilon(0.001));
  CHECK(s[7].reason ==
        "validation loss 22% above its best (evaluation 5) for 2 evaluations, while the training "
        "loss still falls");
  CHECK(d.should_stop());
}

TEST_CASE("the validation-loss rules speak only while the training loss still falls") {
  const std::vector<double> val = {1.0, 0.8, 0.6, 0.5, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8};
  SUBCASE("a flat training loss (a plateau of both) is not overfitting") {
    detector d{previous_defaults()};
    for (const auto& s : run(d, val, false)) {
      CHECK_FALSE(s.overfitting);
      CHECK(s.train_trend == 0);  // a flat line has no slope
    }
  }
  SUBCASE("a training loss that falls, then stops, stops the rules") {
    detector d{previous_defaults()};
    const std::vector<double> v = {1.0, 0.8,  0.6, 0.5,  0.45, 0.42, 0.4, 0.4,
                                   0.4, 0.45, 0.5, 0.55, 0.6,  0.65, 0.7, 0.75};
    std::vector<double> train = {1.0, 0.9, 0.8, 0.7, 0.6};
    while (train.size() < v.size()) train.push_back(train.size() % 2 ? 0.61 : 0.59);
    bool fired = false;
    for (std::size_t i = 0; i < v.size(); ++i) fired |= d.update({train[i], v[i]}).overfitting;
    CHECK_FALSE(fired);  // from the best on, the last 8 training losses have no clear slope
    detector falling{
        previous_defaults()};  // the same validation losses while the training loss falls
    CHECK(run(falling, v).back().overfitting);
  }
  SUBCASE("train_falling_t = 0 turns the condition off") {
    auto o = previous_defaults();
    o.train_falling_t = 0;
    o.gl_noise_units = 0;
    detector d{o};
    const auto s = run(d, val, false);
    CHECK(s[7].overfitting);
    CHECK(s[7].reason == "validation loss 22% above its best (evaluation 5) for 2 evaluations");
  }
  SUBCASE("...unless the rise is far beyond the noise (strong_rise_units)") {
    // A quiet plateau (changes of 0.001), then the validation loss climbs
    // 0.02 per evaluation while the training loss stays flat: a model
    // getting worse on everything, dozens of noise units above its best.
    std::vector<double> v = {1.0, 0.8, 0.6};
    for (int i = 0; i < 12; ++i) v.push_back(0.5 + (i % 2 ? 0.001 : -0.001));
    for (int i = 1; i <= 8; ++i) v.push_back(0.5 + 0.02 * i);
    detector d{previous_defaults()};
    const auto s = run(d, v, false);
    std::size_t first = 0;
    while (first < s.size() && !s[first].overfitting) ++first;
    REQUIRE(first < s.size());
    CHECK(s[first].since_best >= 3);  // the GL rule's other conditions still hold
    CHECK(s[first].reason.find("noise units above its best") != std::string::npos);
    CHECK(s[first].reason.find("training loss still falls") == std::string::npos);
    auto o = previous_defaults();
    o.strong_rise_units = 0;
    detector off{o};
    for (const auto& x : run(off, v, false)) CHECK_FALSE(x.overfitting);
    o.strong_rise_units = -1;
    CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("strong_rise_units"), fitwatch::error);
  }
  SUBCASE("train_window must fit a slope and the history") {
    detector_options o;
    for (const std::size_t w : {0, 2, 17}) {
      o.train_window = w;
      CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("train_window"), fitwatch::error);
    }
    o = {};
    o.train_falling_t = -1;
    CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("train_falling_t"), fitwatch::error);
  }
}

TEST_CASE("GL rule: a rise inside the noise is not enough, whatever its percent") {
  // A flat curve with +-20 % noise and a falling training loss: the smoothed
  // loss goes more than 5 % above its best, but not 1.5 noise units above it.
  std::vector<double> val = {1.0, 0.8, 0.6};
  const double noise[] = {0.2, -0.2, 0.1, -0.1, 0.2, -0.2, 0.0, 0.1, -0.2, 0.2, 0.15, 0.1};
  for (const double n : noise) val.push_back(0.5 * (1 + n));
  detector_options o;
  o.jump_sigmas = 0;
  o.trend_window = 0;
  detector d{o};
  for (const auto& s : run(d, val)) CHECK_FALSE(s.overfitting);
  o.gl_noise_units = 0;  // percent only: the same curve fires
  detector percent_only{o};
  bool fired = false;
  for (const auto& s : run(percent_only, val)) fired |= s.overfitting;
  CHECK(fired);
}

TEST_CASE("generalization loss is a percent of |best| for losses below zero") {
  detector_options o;
  o.smoothing = 1;
  detector d{o};
  d.update({-1.0, -2.0});
  CHECK(d.update({-1.1, -1.8}).generalization_loss == doctest::Approx(10.0));
  detector zero{o};
  zero.update({0.1, 0.0});
  CHECK(zero.update({0.1, 0.5}).generalization_loss == 0);  // undefined at a best of 0
}

TEST_CASE("noise: robust standard deviation of the change per evaluation, from earlier losses") {
  detector d;
  // Changes before the last evaluation: |.01|, |.03|, |.02|, |.01|, |.05|, |.02| -> median .02.
  const auto s = run(d, {1.0, 0.99, 1.02, 1.0, 1.01, 0.96, 0.98, 5.0});
  CHECK(s[6].noise == 0);  // 5 changes known before it: not enough
  CHECK(s[7].noise == doctest::Approx(0.02 * 1.4826 / std::sqrt(2.0)));  // the 5.0 is not in it
}

TEST_CASE("jump rule: one loss far outside the noise, and above gl_threshold, fires at once") {
  // Noise .02 * 1.4826 / sqrt 2 = .021 around a flat 0.5; best (EMA) near .49.
  const std::vector<double> flat = {0.52, 0.5, 0.52, 0.5, 0.48, 0.5, 0.52, 0.5, 0.48, 0.5};
  SUBCASE("a jump of 12 noise units fires on its evaluation") {
    detector d{previous_defaults()};
    auto val = flat;
    val.push_back(0.75);
    const auto s = run(d, val);
    for (std::size_t i = 0; i + 1 < s.size(); ++i) CHECK_FALSE(s[i].overfitting);
    CHECK(s.back().overfitting);
    CHECK(s.back().reason.rfind("validation loss jumped to 0.75, ", 0) == 0);
  }
  SUBCASE("a loss below zero (a negative log-likelihood) jumps too") {
    detector d{previous_defaults()};
    std::vector<double> val;
    for (const double x : flat) val.push_back(x - 2);  // around -1.5
    val.push_back(-1.25);                              // 12 noise units, 17 % of |best|
    const auto s = run(d, val);
    CHECK_FALSE(s[s.size() - 2].overfitting);
    CHECK(s.back().overfitting);
  }
  SUBCASE("3 noise units is noise") {
    detector d{previous_defaults()};
    auto val = flat;
    val.push_back(0.55);
    CHECK_FALSE(run(d, val).back().overfitting);
  }
  SUBCASE("a rise of 5 noise units but under gl_threshold percent is not a jump") {
    detector_options o;
    o.gl_threshold = 60;
    detector d{o};
    auto val = flat;
    val.push_back(0.75);  // 12 noise units, 50 % above the best
    CHECK_FALSE(run(d, val).back().overfitting);
  }
}

TEST_CASE(
    "trend rule: a slow, steady rise under gl_threshold fires after trend_window evaluations") {
  // Best (smoothed) at evaluation 6, then +0.8 % per evaluation with a little
  // noise: the smoothed loss is under 5 % above its best, so only the trend fires.
  auto o = previous_defaults();
  o.trend_window = 6;
  o.trend_t = 3;
  o.trend_min_gl = 2;
  detector d{o};
  std::vector<double> val = {1.0, 0.7, 0.55, 0.5, 0.5, 0.5};
  const double wiggle[] = {0.001, -0.001, 0.0005, 0, -0.0005};
  for (int i = 1; i <= 5; ++i) val.push_back(0.5 * (1 + 0.008 * i) + wiggle[i - 1]);
  const auto s = run(d, val);
  CHECK(s[5].improved);
  for (std::size_t i = 0; i < 10; ++i) CHECK_FALSE(s[i].overfitting);
  CHECK(s[10].since_best == 5);
  CHECK(s[10].generalization_loss < 5);
  CHECK(s[10].overfitting);
  CHECK(s[10].reason.rfind("validation loss rising steadily for 6 evaluations, ", 0) == 0);

  o.trend_min_gl = 5;  // the same rise, but required to be 5 % above the best
  detector strict{o};
  for (const auto& x : run(strict, val)) CHECK_FALSE(x.overfitting);
}

TEST_CASE("trend_window must fit a slope and the history") {
  detector_options o;
  for (const std::size_t w : {1, 2, 17}) {
    o.trend_window = w;
    CHECK_THROWS_AS(detector{o}, fitwatch::error);
  }
  o.trend_window = 0;
  CHECK_NOTHROW(detector{o});
  o.trend_window = 16;
  CHECK_NOTHROW(detector{o});
}

TEST_CASE("the verdict stays until a new best") {
  detector_options o;
  o.stop_on_overfitting = false;
  o.smoothing = 1;
  o.gl_min_since_best = 0;
  detector d{o};
  const auto s = run(d, {1.0, 0.8, 0.6, 0.5, 0.6, 0.6, 0.51, 0.49, 0.5});
  CHECK(s[5].overfitting);
  CHECK(s[6].overfitting);        // back within 5%, but no new best
  CHECK_FALSE(s[7].overfitting);  // new best
  CHECK(s[7].reason.empty());
  CHECK_FALSE(d.should_stop());
}

TEST_CASE("while the verdict holds the reason says where the run is now") {
  // The default verdict's curve: it fires at evaluation 8 (index 7), then
  // the validation loss keeps climbing for three more evaluations.
  auto o = previous_defaults();
  o.gl_noise_units = 0;
  o.stop_on_overfitting = false;
  detector d{o};
  const auto s = run(d, {1.0, 0.8, 0.6, 0.5, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9});
  const std::string fired =
      "validation loss 22% above its best (evaluation 5) for 2 evaluations, while the training "
      "loss still falls";
  CHECK(s[7].reason == fired);  // the rule's words at the evaluation it fires
  for (std::size_t i = 8; i < s.size(); ++i) {
    INFO("evaluation " << i);
    REQUIRE(s[i].overfitting);
    CHECK(s[i].since_best == i - 4);
  }
  CHECK(s[8].generalization_loss == doctest::Approx(31.56).epsilon(0.001));
  CHECK(s[8].reason ==
        "validation loss 31.6% above its best (evaluation 5), 4 evaluations since it; overfitting "
        "since evaluation 8: " +
            fired);
  CHECK(s[10].reason ==
        "validation loss 66.5% above its best (evaluation 5), 6 evaluations since it; overfitting "
        "since evaluation 8: " +
            fired);
}

TEST_CASE("reasons count one evaluation in the singular") {
  SUBCASE("generalization loss for 1 evaluation") {
    detector_options o;
    o.gl_noise_units = 0;
    o.gl_min_since_best = 1;
    o.smoothing = 1;
    o.jump_sigmas = 0;
    o.trend_window = 0;
    detector d{o};
    const auto s = run(d, {1.0, 0.8, 0.6, 0.5, 0.5, 0.6});
    REQUIRE(s[5].overfitting);
    CHECK(s[5].reason ==
          "validation loss 20% above its best (evaluation 4) for 1 evaluation, while the training "
          "loss still falls");
  }
  SUBCASE("rose 1 evaluation in a row") {
    detector d{only([](detector_options& x) { x.rise_patience = 1; })};
    const auto s = run(d, {0.5, 0.6});
    CHECK(s[1].reason == "validation loss rose 1 evaluation in a row");
  }
  SUBCASE("no improvement for 1 evaluation, then 1 evaluation since the best") {
    auto o = only([](detector_options& x) { x.patience = 1; });
    o.stop_on_overfitting = false;
    detector d{o};
    const auto s = run(d, {0.5, 0.6, 0.55});
    CHECK(s[1].reason == "no improvement for 1 evaluation");
    // GL of the raw loss: 0.55 is 10% above the best 0.5.
    CHECK(s[2].reason ==
          "validation loss 10% above its best (evaluation 1), 2 evaluations since it; overfitting "
          "since evaluation 2: no improvement for 1 evaluation");
  }
}

TEST_CASE("a state saved before the reason followed the run resumes with the rule's words") {
  auto o = previous_defaults();
  o.gl_noise_units = 0;
  o.stop_on_overfitting = false;
  const std::vector<double> val = {1.0, 0.8, 0.6, 0.5, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8};
  detector whole{o};
  const auto expected = run(whole, val);
  detector first{o};
  for (std::size_t i = 0; i < 8; ++i) first.update({0.1 - 0.001 * static_cast<double>(i), val[i]});
  auto old = nlohmann::json::parse(first.save_state());
  old.erase("fired_at");
  old.erase("fired_reason");
  detector resumed{o};
  resumed.restore_state(old.dump());
  const auto& s = resumed.update({0.1 - 0.001 * 8, val[8]});
  CHECK(s.reason == expected[8].reason);
  auto half = nlohmann::json::parse(first.save_state());
  half.erase("fired_reason");
  CHECK_THROWS_WITH_AS(resumed.restore_state(half.dump()),
                       "fitwatch: detector state: fired_reason is missing", fitwatch::error);
  half = nlohmann::json::parse(first.save_state());
  half["fired_at"] = 99;
  CHECK_THROWS_AS(resumed.restore_state(half.dump()), fitwatch::error);
}

TEST_CASE("window rule: the run's level against its best level, whatever the training loss") {
  // Best level in the first evaluations, then a noisy climb (+-0.05 around a
  // line rising 0.01 per evaluation) while the training loss stays flat:
  // the GL, jump and trend rules are muted, the window rule is not.
  std::vector<double> val;
  for (int i = 0; i < 40; ++i) val.push_back(1.0 + 0.01 * i + (i % 2 ? 0.05 : -0.05));
  auto o = previous_defaults();
  o.window_size = 8;
  o.window_units = 4;
  o.strong_rise_units = 0;
  detector d{o};
  const auto s = run(d, val, false);
  std::size_t first = 0;
  while (first < s.size() && !s[first].overfitting) ++first;
  REQUIRE(first < s.size());
  CHECK(first >= 16);  // two windows of 8 that do not overlap
  CHECK(s[first].reason.rfind("validation loss: the mean of the last 8 evaluations is ", 0) == 0);
  CHECK(s[first].reason.find("noise units above its best such mean (evaluations 1 to 8)") !=
        std::string::npos);
  SUBCASE("window_size 0 turns it off, and a flat noisy run stays quiet") {
    detector off{previous_defaults()};  // window_size 0 (the default), no CUSUM
    for (const auto& x : run(off, val, false)) CHECK_FALSE(x.overfitting);
    detector flat{o};
    std::vector<double> level;
    for (int i = 0; i < 60; ++i) level.push_back(1.0 + (i % 2 ? 0.05 : -0.05) * (1 + i % 3));
    for (const auto& x : run(flat, level, false)) CHECK_FALSE(x.overfitting);
  }
  SUBCASE("the library's defaults catch the climb too, through CUSUM, not muted") {
    detector defaults;
    const auto d_s = run(defaults, val, false);
    std::size_t at = 0;
    while (at < d_s.size() && !d_s[at].overfitting) ++at;
    REQUIRE(at < d_s.size());
    CHECK(d_s[at].reason.find("(CUSUM)") != std::string::npos);
  }
  SUBCASE("its best window survives a save and restore") {
    detector a{o};
    for (std::size_t i = 0; i < 12; ++i) a.update({0.1, val[i]});
    detector b{o};
    b.restore_state(a.save_state());
    for (std::size_t i = 12; i < val.size(); ++i) {
      INFO(i);
      CHECK(b.update({0.1, val[i]}).reason == s[i].reason);
    }
  }
  SUBCASE("window_size above 16 is refused") {
    o.window_size = 17;
    CHECK_THROWS_WITH_AS(detector{o},
                         "fitwatch: detector window_size must be 0 (off) to 16, got 17",
                         fitwatch::error);
  }
}

TEST_CASE("strong_rise_confirm: a rise beyond the noise for N evaluations in a row") {
  // The strong-rise test's curve: a quiet plateau, then a climb while the
  // training loss stays flat.
  std::vector<double> v = {1.0, 0.8, 0.6};
  for (int i = 0; i < 12; ++i) v.push_back(0.5 + (i % 2 ? 0.001 : -0.001));
  for (int i = 1; i <= 8; ++i) v.push_back(0.5 + 0.02 * i);
  const auto first_alarm = [&](std::size_t confirm) {
    auto o = previous_defaults();
    o.strong_rise_confirm = confirm;
    detector d{o};
    const auto s = run(d, v, false);
    std::size_t first = 0;
    while (first < s.size() && !s[first].overfitting) ++first;
    return first;
  };
  const auto one = first_alarm(1);
  REQUIRE(one < v.size());
  // The rise is beyond the noise from the first step of the climb; the GL
  // rule's own conditions (3 evaluations after the best) come later.
  CHECK(first_alarm(3) >= one);
  CHECK(first_alarm(3) <= one + 2);
  CHECK(first_alarm(8) > one);
  detector_options zero;
  zero.strong_rise_confirm = 0;
  CHECK_THROWS_AS(detector{zero}, fitwatch::error);
}

TEST_CASE("smoothing trades delay for robustness") {
  // One noisy spike: raw detection fires, smoothed does not.
  const std::vector<double> spike = {1.0, 0.8, 0.6, 0.5, 0.58, 0.58, 0.49, 0.48};
  detector_options r;
  r.smoothing = 1;
  r.gl_min_since_best = 0;
  detector raw{r};
  bool raw_fired = false;
  for (const auto& s : run(raw, spike)) raw_fired |= s.overfitting;
  CHECK(raw_fired);
  detector_options o = r;
  o.smoothing = 0.3;
  detector smooth{o};
  bool smooth_fired = false;
  for (const auto& s : run(smooth, spike)) smooth_fired |= s.overfitting;
  CHECK_FALSE(smooth_fired);
  o.smoothing = 0;
  CHECK_THROWS_AS(detector{o}, fitwatch::error);
}

TEST_CASE("gap-ratio rule (SageMaker Debugger Overfit)") {
  const auto o = only([](detector_options& x) { x.gap_ratio_threshold = 0.1; });
  detector d{o};
  CHECK_FALSE(d.update({1.0, 1.05}).overfitting);
  CHECK(d.update({1.0, 1.2}).overfitting);
}

TEST_CASE("divergence: NaN, infinity, or above the threshold") {
  SUBCASE("NaN (Lightning check_finite)") {
    detector d;
    d.update({0.5, 0.5});
    const auto& s = d.update({std::nan(""), 0.5});
    CHECK(s.diverged);
    CHECK_FALSE(s.finite);
    CHECK(d.should_stop());
    CHECK(s.reason == "a loss is not finite (NaN or infinity)");
  }
  SUBCASE("infinity") {
    detector d;
    CHECK(d.update({0.5, INFINITY}).diverged);
  }
  SUBCASE("threshold (Lightning divergence_threshold)") {
    detector_options o;
    o.divergence_threshold = 10;
    detector d{o};
    CHECK_FALSE(d.update({5, 9}).diverged);
    CHECK(d.update({5, 11}).diverged);
  }
  SUBCASE("check_finite off") {
    detector_options o;
    o.check_finite = false;
    detector d{o};
    CHECK_FALSE(d.update({std::nan(""), 0.5}).diverged);
    CHECK_FALSE(d.should_stop());
  }
}

TEST_CASE("the monitor writes raw losses and signals in one valid line") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  auto percent_only = previous_defaults();
  percent_only.gl_noise_units = 0;
  fitwatch::monitor mon{log, percent_only};
  const std::vector<double> val = {1.0, 0.8, 0.6, 0.5, 0.5, 0.55, 0.6, 0.65};
  for (std::size_t i = 0; i < val.size(); ++i) {
    mon.observe(static_cast<std::int64_t>(i + 1),
                {0.3 - 0.01 * static_cast<double>(i), val[i], 0.9, 0.8});
  }
  mon.observe(9, {std::nan(""), 0.7});
  const auto lines = sink->snapshot();
  REQUIRE(lines.size() == 9);
  std::vector<nlohmann::json> e;
  for (const auto& l : lines) e.push_back(fitwatch::test::parse_emf(l));

  // Every metric of the schema, exactly, with its unit and resolution.
  std::set<std::string> declared;
  for (const auto& d : e[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]) {
    declared.insert(d["Name"].get<std::string>());
    CHECK(d["StorageResolution"] == 1);
  }
  std::set<std::string> schema;
  for (const auto& m : fitwatch::signal_metrics) schema.insert(std::string(m.name));
  CHECK(declared == schema);
  CHECK(e[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] ==
        nlohmann::json::parse(R"([["TrainingJobName"]])"));

  CHECK(e[0]["Epoch"] == 1);
  CHECK(e[6]["OverfittingDetected"] == 0);
  CHECK(e[7]["OverfittingDetected"] == 1);
  CHECK(e[7]["BestEpoch"] == 5);
  CHECK(e[7]["GeneralizationLoss"].get<double>() == doctest::Approx(22.01).epsilon(0.001));
  CHECK(e[7]["ValidationLoss"] == 0.65);
  CHECK(e[7]["OverfittingReason"].get<std::string>().find("above its best") != std::string::npos);
  // The NaN evaluation: no TrainLoss, no derived signals, but divergence said.
  CHECK_FALSE(e[8].contains("TrainLoss"));
  CHECK_FALSE(e[8].contains("GeneralizationGap"));
  CHECK(e[8]["TrainingDiverged"] == 1);
  CHECK(e[8]["ValidationLoss"] == 0.7);
}

TEST_CASE("schema_json lists the signal metrics") {
  const auto schema = nlohmann::json::parse(fitwatch::schema_json("MyNs"));
  CHECK(schema["Namespace"] == "MyNs");
  CHECK(schema["Dimensions"] == nlohmann::json::parse(R"([["TrainingJobName"]])"));
  REQUIRE(schema["Metrics"].size() == fitwatch::signal_metrics.size());
  for (std::size_t i = 0; i < fitwatch::signal_metrics.size(); ++i) {
    CHECK(schema["Metrics"][i]["Name"] == std::string(fitwatch::signal_metrics[i].name));
    CHECK(schema["Metrics"][i]["Unit"] ==
          std::string(fitwatch::to_string(fitwatch::signal_metrics[i].unit_)));
  }
}

// ---- resume: save_state / restore_state ----------------------------------

namespace {

// A run that learns, then overfits: the validation loss falls to its best
// near evaluation 12, then climbs, with a little deterministic noise.
std::vector<fitwatch::evaluation> overfitting_run() {
  std::vector<fitwatch::evaluation> out;
  for (int i = 0; i < 30; ++i) {
    const double x = i - 12.0;
    const double val = 0.5 + 0.002 * x * x + 0.004 * std::sin(1.7 * i);
    out.push_back({0.4 * std::exp(-0.05 * i), val});
  }
  return out;
}

void check_same(const fitwatch::signals& a, const fitwatch::signals& b) {
  CHECK(a.evaluation == b.evaluation);
  CHECK(a.gap == b.gap);
  CHECK(a.gap_ratio == b.gap_ratio);
  CHECK(a.smoothed_validation == b.smoothed_validation);
  CHECK(a.rise_streak == b.rise_streak);
  CHECK(a.since_best == b.since_best);
  CHECK(a.best_validation == b.best_validation);
  CHECK(a.best_evaluation == b.best_evaluation);
  CHECK(a.generalization_loss == b.generalization_loss);
  CHECK(a.noise == b.noise);
  CHECK(a.train_trend == b.train_trend);
  CHECK(a.improved == b.improved);
  CHECK(a.diverged == b.diverged);
  CHECK(a.overfitting == b.overfitting);
  CHECK(a.finite == b.finite);
  CHECK(a.reason == b.reason);
}

}  // namespace

TEST_CASE("a run resumed from a saved state gives every signal of an uninterrupted run") {
  const auto run = overfitting_run();
  detector_options o;
  o.rise_patience = 4;  // a rule that reads the streak, so the streak must survive too
  o.stop_on_overfitting = false;
  detector whole{o};
  std::vector<fitwatch::signals> expected;
  for (const auto& e : run) expected.push_back(whole.update(e));
  std::size_t alarm = run.size();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i].overfitting) {
      alarm = i;
      break;
    }
  }
  REQUIRE(alarm < run.size());
  const std::size_t best = expected[alarm].best_evaluation;
  REQUIRE(best + 2 < alarm);  // there are checkpoints between the best and the alarm
  for (std::size_t stop = 1; stop < run.size(); ++stop) {
    INFO("interrupted after evaluation " << stop - 1);
    detector first{o};
    for (std::size_t i = 0; i < stop; ++i) first.update(run[i]);
    const std::string state = first.save_state();
    detector resumed{o};  // a new process
    resumed.restore_state(state);
    check_same(resumed.current(), expected[stop - 1]);
    for (std::size_t i = stop; i < run.size(); ++i) {
      INFO("evaluation " << i);
      check_same(resumed.update(run[i]), expected[i]);
    }
    CHECK(resumed.should_stop() == whole.should_stop());
  }
}

TEST_CASE("a fresh detector after a resume would never alarm: the regression the state fixes") {
  const auto run = overfitting_run();
  detector whole;
  std::size_t alarm = 0;
  for (std::size_t i = 0; i < run.size() && alarm == 0; ++i) {
    if (whole.update(run[i]).overfitting) alarm = i;
  }
  REQUIRE(alarm > 0);
  // Restarted from nothing after the best, the detector takes the first
  // resumed loss for its best and misses the alarm of the whole run.
  const std::size_t resume_at = whole.current().best_evaluation + 2;
  detector fresh;
  bool alarmed_in_time = false;
  for (std::size_t i = resume_at; i <= alarm; ++i)
    alarmed_in_time = fresh.update(run[i]).overfitting;
  CHECK_FALSE(alarmed_in_time);
}

TEST_CASE("save_state survives infinities and keeps the saved options") {
  detector_options o;
  o.smoothing = 1;
  detector d{o};
  for (int i = 0; i < 10; ++i) d.update({1.0 - 0.05 * i, 1.0 + 0.01 * (i % 3)});
  auto j = nlohmann::json::parse(d.save_state());
  CHECK(j["version"] == detector::state_version);
  CHECK(j["options"]["smoothing"] == "1");
  CHECK(j["options"]["divergence_threshold"] == "inf");
  // An exact straight line of training losses has a t of -inf (slope_t).
  j["signals"]["train_trend"] = "-inf";
  detector back{o};
  back.restore_state(j.dump());
  CHECK(back.current().train_trend == -std::numeric_limits<double>::infinity());
  CHECK(nlohmann::json::parse(back.save_state()) == j);
}

TEST_CASE("a bad or hostile state is rejected with a clear error and changes nothing") {
  detector d;
  for (int i = 0; i < 8; ++i) d.update({0.5 - 0.01 * i, 0.6 - 0.01 * i});
  const auto good = nlohmann::json::parse(d.save_state());
  detector target;
  target.update({1.0, 2.0});
  const auto before = target.save_state();
  const auto rejected = [&](const std::string& text) {
    std::string message;
    try {
      target.restore_state(text);
    } catch (const fitwatch::error& e) {
      message = e.what();
    }
    CHECK(target.save_state() == before);  // unchanged
    return message;
  };
  const auto with = [&](const std::function<void(nlohmann::json&)>& change) {
    auto j = good;
    change(j);
    return rejected(j.dump());
  };
  CHECK(rejected("") == "fitwatch: detector state: not a JSON object");
  CHECK(rejected("[1]") == "fitwatch: detector state: not a JSON object");
  CHECK(rejected(std::string(70000, ' ')) == "fitwatch: detector state: larger than 65536 bytes");
  CHECK(with([](auto& j) { j["format"] = "other"; }) ==
        "fitwatch: detector state: not a fitwatch detector state (\"format\" is not "
        "\"fitwatch-detector-state\")");
  CHECK(with([](auto& j) { j["version"] = 2; }) ==
        "fitwatch: detector state: format version 2, this fitwatch reads version 1");
  CHECK(with([](auto& j) { j["options"]["smoothing"] = "0.3"; }) ==
        "fitwatch: detector state: saved with smoothing=\"0.3\", this detector has "
        "smoothing=\"" +
            fitwatch::detector_option_values(detector_options{}).at("smoothing") + "\"");
  CHECK(with([](auto& j) { j.erase("history"); }) ==
        "fitwatch: detector state: history is missing");
  CHECK(with([](auto& j) { j["history"].push_back(1.0); }) ==
        "fitwatch: detector state: history is not an array of 16 numbers");
  CHECK(with([](auto& j) { j["history"][3] = "inf"; }) ==
        "fitwatch: detector state: history is not a finite number");
  CHECK(with([](auto& j) { j["count"] = -1; }) ==
        "fitwatch: detector state: count is not a whole number from 0 to 9007199254740992");
  CHECK(with([](auto& j) { j["history_count"] = 1000; }) ==
        "fitwatch: detector state: history_count is not a whole number from 0 to 8");
  CHECK(with([](auto& j) { j["signals"]["best_evaluation"] = 99; }) ==
        "fitwatch: detector state: signals.best_evaluation is not a whole number from 0 to 7");
  CHECK(with([](auto& j) { j["signals"]["evaluation"] = 9; }) ==
        "fitwatch: detector state: signals.evaluation 9 does not follow count 8");
  CHECK(with([](auto& j) { j["signals"]["reason"] = std::string(5000, 'x'); }) ==
        "fitwatch: detector state: signals.reason is not a string of at most 4096 bytes");
  CHECK(with([](auto& j) { j["latched"] = 1; }) ==
        "fitwatch: detector state: latched is not true or false");
  CHECK(with([](auto& j) { j["previous"] = "nan"; }) ==
        "fitwatch: detector state: previous is not a finite number");
  CHECK(with([](auto& j) { j["has_best"] = false; }) ==
        "fitwatch: detector state: has_best does not agree with history_count");
  // The good state still restores.
  target.restore_state(good.dump());
  CHECK(target.current().evaluation == 7);
}

// ---- any metric: monitor and mode ------------------------------------------

namespace {

// The evaluations at which the verdict turns on (0-based), with the rules
// of record enabled too, so that every rule has a say.
std::vector<std::size_t> alarm_evaluations(const detector_options& o,
                                           const std::vector<fitwatch::evaluation>& run) {
  detector d{o};
  std::vector<std::size_t> out;
  bool before = false;
  for (const auto& e : run) {
    const auto& s = d.update(e);
    if (s.overfitting && !before) out.push_back(s.evaluation);
    before = s.overfitting;
  }
  return out;
}

}  // namespace

TEST_CASE("mode max on a mirrored curve alarms at the same evaluations as min on the curve") {
  const auto losses = overfitting_run();
  // The same run as a higher-is-better metric: the validation loss negated
  // (an accuracy-like curve that peaks, then falls), the training loss kept.
  std::vector<fitwatch::evaluation> mirrored;
  for (const auto& e : losses) {
    fitwatch::evaluation m{e.train_loss, e.validation_loss};
    m.metric = -e.validation_loss;
    mirrored.push_back(m);
  }
  for (const auto rules : {0, 1}) {
    INFO("rules of record: " << rules);
    detector_options min;
    if (rules == 1) {
      min.rise_patience = 3;
      min.patience = 6;
    }
    detector_options max = min;
    max.monitor = "val_score";
    max.mode = fitwatch::direction::max;
    const auto want = alarm_evaluations(min, losses);
    REQUIRE_FALSE(want.empty());
    CHECK(alarm_evaluations(max, mirrored) == want);
    // Fails if the mode is ignored: read as lower-is-better, the mirrored
    // curve's fall is an improvement and its peak the worst evaluation.
    detector_options ignored = max;
    ignored.mode = fitwatch::direction::min;
    CHECK(alarm_evaluations(ignored, mirrored) != want);
  }
  // Every signal mirrors: the same streaks and percents, the best in the
  // metric's own units, and the reason names the metric and its direction.
  detector_options max;
  max.monitor = "val_score";
  max.mode = fitwatch::direction::max;
  detector a, b{max};
  for (std::size_t i = 0; i < losses.size(); ++i) {
    const auto& s = a.update(losses[i]);
    const auto& t = b.update(mirrored[i]);
    CHECK(t.best_validation == -s.best_validation);
    CHECK(t.smoothed_validation == -s.smoothed_validation);
    CHECK(t.generalization_loss == s.generalization_loss);
    CHECK(t.rise_streak == s.rise_streak);
    CHECK(t.since_best == s.since_best);
    CHECK(t.best_evaluation == s.best_evaluation);
    CHECK(t.overfitting == s.overfitting);
    CHECK(t.gap == s.gap);  // from the losses, whatever the metric
    if (s.overfitting) {
      CHECK(t.reason.rfind("val_score ", 0) == 0);
      CHECK(t.reason.find("below its best") != std::string::npos);
      CHECK(s.reason.find("above its best") != std::string::npos);
    }
  }
  CHECK(b.should_stop());
}

TEST_CASE("a named metric's words: a fall in a row, a drop, a missing or NaN value") {
  detector_options o = only([](detector_options& x) { x.rise_patience = 2; });
  o.monitor = "val_f1";
  o.mode = fitwatch::direction::max;
  detector d{o};
  const auto at = [](double f1) {
    fitwatch::evaluation e{0.1, 0.5};
    e.metric = f1;
    return e;
  };
  d.update(at(0.8));
  d.update(at(0.9));
  CHECK_FALSE(d.update(at(0.85)).overfitting);  // one fall
  CHECK(d.update(at(0.84)).reason == "val_f1 fell 2 evaluations in a row");
  // A missing value is a NaN: divergence, named.
  const auto& s = d.update({0.1, 0.5});
  CHECK(s.diverged);
  CHECK(s.reason == "a loss or val_f1 is not finite (NaN or infinity)");
}

TEST_CASE("monitor: an invalid metric name is rejected when the detector is made") {
  detector_options o;
  o.monitor = "";
  CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("invalid metric name \"\""), fitwatch::error);
  o.monitor = std::string(300, 'x');
  CHECK_THROWS_AS(detector{o}, fitwatch::error);
  o.monitor = "val\xff";
  CHECK_THROWS_WITH_AS(detector{o}, doctest::Contains("not valid UTF-8"), fitwatch::error);
}

TEST_CASE("a state saved with mode max is not restored into mode min, one saved without is") {
  detector_options max;
  max.monitor = "val_acc";
  max.mode = fitwatch::direction::max;
  detector a{max};
  fitwatch::evaluation e{0.5, 0.6};
  e.metric = 0.7;
  a.update(e);
  detector_options min = max;
  min.mode = fitwatch::direction::min;
  detector b{min};
  CHECK_THROWS_WITH_AS(b.restore_state(a.save_state()),
                       "fitwatch: detector state: saved with mode=\"max\", this detector has "
                       "mode=\"min\"",
                       fitwatch::error);
  // A state written before monitor and mode existed had the defaults.
  detector c;
  c.update({0.5, 0.6});
  auto old = nlohmann::json::parse(c.save_state());
  old["options"].erase("monitor");
  old["options"].erase("mode");
  detector fresh;
  fresh.restore_state(old.dump());
  CHECK(fresh.current().best_validation == 0.6);
  detector named{max};
  CHECK_THROWS_AS(named.restore_state(old.dump()), fitwatch::error);
}
