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
  // The curve was written for smoothing 0.7 and train_window 6 (the
  // defaults until tune.py chose 0.5 and 4; checked with `fitwatch emit`).
  percent_only.smoothing = 0.7;
  percent_only.train_window = 6;
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

TEST_CASE("torch_monitor with a mode max metric keeps the weights of its highest value") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  torch::manual_seed(0);
  torch::nn::Linear model(4, 1);
  fitwatch::detector_options o;
  o.gl_noise_units = 0;
  o.monitor = "val_acc";
  o.mode = fitwatch::direction::max;
  o.smoothing = 0.7;  // as in the test above
  o.train_window = 6;
  fitwatch::torch_monitor mon{log, *model, o};
  // The loss curve of the test above, mirrored: best at epoch 5, verdict at 8.
  const std::vector<double> acc = {-1.0, -0.8, -0.6, -0.5, -0.5, -0.55, -0.6, -0.65, -0.7};
  torch::Tensor weights_at_best;
  int epoch = 0;
  for (const double a : acc) {
    ++epoch;
    {
      torch::NoGradGuard g;
      model->weight.add_(0.1);
    }
    if (epoch == 5) weights_at_best = model->weight.detach().clone();
    fitwatch::evaluation e{0.3 - 0.01 * epoch, 0.4};
    e.metric = a;
    mon.observe(epoch, e);
    if (mon.should_stop()) break;
  }
  CHECK(epoch == 8);
  CHECK(mon.best_epoch() == 5);
  CHECK(mon.restored());
  CHECK(torch::equal(model->weight, weights_at_best));
  CHECK(fitwatch::test::parse_emf(sink->snapshot().back())["val_acc"] == -0.65);
}

namespace {

// One "training run" of the adapter: the weights move every epoch, the
// losses follow a curve whose verdict comes after its best epoch. Saves a
// checkpoint after `checkpoint_after` (0: none); resumes from `resume_from`
// (empty: a fresh run). Returns the EMF lines.
struct adapter_run {
  std::vector<nlohmann::json> events;
  int stopped_at = 0;
  std::int64_t best_epoch = -1;
  torch::Tensor final_weights;
};

const std::vector<double> curve = {1.0, 0.8, 0.6, 0.5, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75};

adapter_run run_adapter(int first, int last, const std::string& save_to, int checkpoint_after,
                        const std::string& resume_from) {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  torch::manual_seed(0);
  torch::nn::Linear model(4, 1);
  fitwatch::detector_options percent_only;
  percent_only.gl_noise_units = 0;
  fitwatch::torch_monitor mon{log, *model, percent_only};
  if (!resume_from.empty()) {
    torch::serialize::InputArchive archive;
    archive.load_from(resume_from);
    model->load(archive);
    mon.restore_state(archive);
  }
  adapter_run r;
  for (int epoch = first; epoch <= last; ++epoch) {
    {
      torch::NoGradGuard g;
      model->weight.add_(0.1);
    }
    mon.observe(epoch, torch::tensor(0.3 - 0.01 * epoch), torch::tensor(curve.at(epoch - 1)));
    if (epoch == checkpoint_after) {
      torch::serialize::OutputArchive archive;
      model->save(archive);
      mon.save_state(archive);
      archive.save_to(save_to);
    }
    if (mon.should_stop()) {
      r.stopped_at = epoch;
      break;
    }
  }
  for (const auto& l : sink->snapshot()) r.events.push_back(fitwatch::test::parse_emf(l));
  r.best_epoch = mon.best_epoch();
  r.final_weights = model->weight.detach().clone();
  return r;
}

}  // namespace

TEST_CASE("torch_monitor resumed from a checkpoint after its best epoch stops at the same epoch") {
  const fitwatch::test::temp_dir dir;
  const auto whole = run_adapter(1, 10, "", 0, "");
  REQUIRE(whole.stopped_at > 0);
  const int interrupt = static_cast<int>(whole.best_epoch) + 1;
  REQUIRE(interrupt < whole.stopped_at);
  const auto checkpoint = dir.file("checkpoint.pt");
  const auto first = run_adapter(1, interrupt, checkpoint, interrupt, "");
  CHECK(first.stopped_at == 0);
  const auto second = run_adapter(interrupt + 1, 10, "", 0, checkpoint);
  CHECK(second.stopped_at == whole.stopped_at);
  CHECK(second.best_epoch == whole.best_epoch);
  // The best weights came back with the checkpoint and were restored at the stop.
  CHECK(torch::equal(second.final_weights, whole.final_weights));
  auto resumed = first.events;
  resumed.insert(resumed.end(), second.events.begin(), second.events.end());
  REQUIRE(resumed.size() == whole.events.size());
  for (std::size_t i = 0; i < resumed.size(); ++i) {
    for (const auto& m : fitwatch::signal_metrics) {
      const std::string name(m.name);
      INFO(name << " at epoch " << i + 1);
      CHECK(resumed[i].contains(name) == whole.events[i].contains(name));
      if (whole.events[i].contains(name)) CHECK(resumed[i][name] == whole.events[i][name]);
    }
    CHECK(resumed[i]["BestEpoch"] == whole.events[i]["BestEpoch"]);
  }
}

TEST_CASE("a checkpoint without fitwatch's state, or with a bad one, is rejected clearly") {
  torch::nn::Linear model(4, 1);
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  fitwatch::logger log{fitwatch::test::quiet_options(sink)};
  fitwatch::torch_monitor mon{log, *model};
  const fitwatch::test::temp_dir dir;
  {
    torch::serialize::OutputArchive archive;
    model->save(archive);
    archive.save_to(dir.file("plain.pt"));
  }
  torch::serialize::InputArchive plain;
  plain.load_from(dir.file("plain.pt"));
  CHECK_THROWS_WITH_AS(mon.restore_state(plain),
                       "fitwatch: checkpoint: no fitwatch state in the archive", fitwatch::error);
  {
    torch::serialize::OutputArchive archive, mine, best;
    mine.write("monitor",
               c10::IValue(std::string(R"({"detector": {"format": "x"}, "best_epoch": 1})")));
    mine.write("best_epoch", c10::IValue(std::int64_t{1}));
    mine.write("restored", c10::IValue(false));
    best.write("saved", c10::IValue(false));
    best.write("count", c10::IValue(std::int64_t{0}));
    mine.write("best_weights", best);
    archive.write("fitwatch", mine);
    archive.save_to(dir.file("hostile.pt"));
  }
  torch::serialize::InputArchive hostile;
  hostile.load_from(dir.file("hostile.pt"));
  CHECK_THROWS_WITH_AS(mon.restore_state(hostile),
                       "fitwatch: detector state: not a fitwatch detector state (\"format\" is not "
                       "\"fitwatch-detector-state\")",
                       fitwatch::error);
}
