// The libtorch adapter: scalars, best weights in memory and on disk, and the
// restore when the detector says stop.
#include <doctest/doctest.h>

#include <cstdio>

#include "fitwatch/torch.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

TEST_CASE("scalar reads one-element tensors, NaN otherwise") {
  CHECK(fitwatch::scalar(torch::tensor(0.25)) == 0.25);
  CHECK(fitwatch::scalar(torch::tensor({0.5f})) == 0.5);
  CHECK(std::isnan(fitwatch::scalar(torch::Tensor())));
  CHECK(std::isnan(fitwatch::scalar(torch::ones({2}))));
}

TEST_CASE("best_weights keeps and restores parameters") {
  torch::manual_seed(0);
  torch::nn::Linear model(3, 2);
  const auto before = model->weight.detach().clone();
  const fitwatch::test::temp_dir dir;
  for (const std::string& path : {std::string(), dir.file("best_weights.pt")}) {
    fitwatch::best_weights best{path};
    CHECK(best.empty());
    CHECK_FALSE(best.restore(*model));
    best.save(*model);
    {
      torch::NoGradGuard g;
      model->weight.add_(1.0);
    }
    CHECK_FALSE(torch::equal(model->weight, before));
    CHECK(best.restore(*model));
    CHECK(torch::equal(model->weight, before));
  }
}

TEST_CASE("torch_monitor restores the best epoch's weights when it stops") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  torch::manual_seed(0);
  torch::nn::Linear model(4, 1);
  fitwatch::detector_options percent_only;  // as in test_detector.cpp, "default verdict"
  percent_only.gl_noise_units = 0;
  fitwatch::torch_monitor mon{log, *model, percent_only};
  // The smoothed validation loss is best at epoch 5; the verdict comes at 8
  // while the training loss falls (see test_detector.cpp, "default verdict").
  const std::vector<double> val = {1.0, 0.8, 0.6, 0.5, 0.5, 0.55, 0.6, 0.65, 0.7};
  torch::Tensor weights_at_best;
  int epoch = 0;
  for (const double v : val) {
    ++epoch;
    {
      torch::NoGradGuard g;
      model->weight.add_(0.1);  // "training" changes the weights each epoch
    }
    if (epoch == 5) weights_at_best = model->weight.detach().clone();
    mon.observe(epoch, torch::tensor(0.3 - 0.01 * epoch), torch::tensor(v), 0.9, 0.8);
    if (mon.should_stop()) break;
  }
  CHECK(epoch == 8);
  CHECK(mon.best_epoch() == 5);
  CHECK(mon.restored());
  CHECK(torch::equal(model->weight, weights_at_best));
  const auto lines = sink->snapshot();
  REQUIRE(lines.size() == 8);
  const auto last = fitwatch::test::parse_emf(lines.back());
  CHECK(last["OverfittingDetected"] == 1);
  CHECK(last["ValidationAccuracy"] == 0.8);
}
