// fitwatch: the libtorch adapter — the only fitwatch header that includes
// torch. Header-only, so the library itself never depends on libtorch.
//
// torch_monitor reads loss tensors with .item() once per evaluation (it
// copies to the host and waits for the GPU, so never call it per step),
// runs the detector, writes the EMF line, keeps the weights of the best
// evaluation (in memory, or in a checkpoint file), and restores them when
// the detector says stop (Keras restore_best_weights).
//
// Resume (spot interruptions, restarted jobs): save_state() writes the
// detector's state, the best epoch and the best weights into the checkpoint
// archive the loop saves anyway (with the model and the optimizer);
// restore_state() puts them back, and the resumed run's signals are the ones
// an uninterrupted run would have had (tests/test_torch.cpp).
//
//   torch::serialize::OutputArchive archive;
//   model->save(archive); optimizer.save(archive); mon.save_state(archive);
//   archive.save_to("/opt/ml/checkpoints/last.pt");
//
// \code
//   fitwatch::logger log;
//   fitwatch::torch_monitor mon{log, *model};
//   for (int epoch = 1; epoch <= epochs; ++epoch) {
//     auto [train_loss, val_loss] = train_one_epoch(), evaluate();   // scalar tensors
//     mon.observe(epoch, train_loss, val_loss);
//     if (mon.should_stop()) break;   // the best weights are back in *model
//   }
// \endcode
//
// Thread safety: one torch_monitor per training loop.
#pragma once

#include <torch/torch.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"

namespace fitwatch {

/// A scalar tensor as a double (NaN if undefined or not one element).
/// Calls .item(): a host copy, and a GPU synchronisation.
inline double scalar(const torch::Tensor& t) {
  if (!t.defined() || t.numel() != 1) return std::numeric_limits<double>::quiet_NaN();
  return t.item<double>();
}

/// The parameters and buffers of a module at its best evaluation.
class best_weights {
 public:
  /// `checkpoint_path` empty: kept in memory; else saved to that file.
  explicit best_weights(std::string checkpoint_path = {}) : path_(std::move(checkpoint_path)) {}

  void save(const torch::nn::Module& model) {
    torch::NoGradGuard no_grad;
    if (!path_.empty()) {
      torch::serialize::OutputArchive archive;
      model.save(archive);
      archive.save_to(path_);
    } else {
      tensors_.clear();
      for (const auto& p : model.parameters()) tensors_.push_back(p.detach().clone());
      for (const auto& b : model.buffers()) tensors_.push_back(b.detach().clone());
    }
    saved_ = true;
  }

  /// Puts the saved weights back; false if nothing was saved.
  bool restore(torch::nn::Module& model) const {
    if (!saved_) return false;
    torch::NoGradGuard no_grad;
    if (!path_.empty()) {
      torch::serialize::InputArchive archive;
      archive.load_from(path_);
      model.load(archive);
      return true;
    }
    std::size_t i = 0;
    for (auto& p : model.parameters()) p.copy_(tensors_.at(i++));
    for (auto& b : model.buffers()) b.copy_(tensors_.at(i++));
    return true;
  }

  bool empty() const noexcept { return !saved_; }

  /// Writes the kept weights into `archive` (in memory) or a flag (a
  /// checkpoint file, which must then be kept with the checkpoint).
  void save_state(torch::serialize::OutputArchive& archive) const {
    archive.write("saved", c10::IValue(saved_));
    archive.write("count", c10::IValue(static_cast<std::int64_t>(tensors_.size())));
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      archive.write("tensor_" + std::to_string(i), tensors_[i]);
    }
  }
  /// Reads what save_state() wrote. \throw error on a malformed archive.
  void restore_state(torch::serialize::InputArchive& archive) {
    c10::IValue saved, count;
    if (!archive.try_read("saved", saved) || !saved.isBool() || !archive.try_read("count", count) ||
        !count.isInt() || count.toInt() < 0 || count.toInt() > 1000000) {
      throw error("checkpoint: the best weights are missing or malformed");
    }
    std::vector<torch::Tensor> tensors(static_cast<std::size_t>(count.toInt()));
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (!archive.try_read("tensor_" + std::to_string(i), tensors[i])) {
        throw error("checkpoint: best weight " + std::to_string(i) + " is missing");
      }
    }
    saved_ = saved.toBool();
    tensors_ = std::move(tensors);
  }

 private:
  std::string path_;
  std::vector<torch::Tensor> tensors_;
  bool saved_ = false;
};

class torch_monitor {
 public:
  /// `model` must outlive the monitor. `restore_on_stop`: put the best
  /// weights back the moment should_stop() turns true.
  torch_monitor(logger& log, torch::nn::Module& model, detector_options options = {},
                std::string checkpoint_path = {}, bool restore_on_stop = true)
      : monitor_(log, options),
        model_(model),
        best_(std::move(checkpoint_path)),
        restore_on_stop_(restore_on_stop) {}

  /// One evaluation. Losses are scalar tensors (read here, once);
  /// accuracies, if given, plain numbers. The EMF line is stamped now, or at
  /// `timestamp_ms` if given (ms since the epoch).
  const signals& observe(std::int64_t epoch, const torch::Tensor& train_loss,
                         const torch::Tensor& validation_loss,
                         std::optional<double> train_accuracy = std::nullopt,
                         std::optional<double> validation_accuracy = std::nullopt,
                         std::optional<std::int64_t> timestamp_ms = std::nullopt) {
    return observe(epoch,
                   evaluation{scalar(train_loss), scalar(validation_loss), train_accuracy,
                              validation_accuracy},
                   timestamp_ms);
  }

  /// One evaluation of plain numbers: with a monitored metric other than
  /// the validation loss (detector_options::monitor), its value is
  /// `e.metric` (docs/detector.md, "Any metric").
  const signals& observe(std::int64_t epoch, const evaluation& e,
                         std::optional<std::int64_t> timestamp_ms = std::nullopt) {
    const bool was_stopping = monitor_.should_stop();
    const auto& s =
        timestamp_ms ? monitor_.observe_at(epoch, e, *timestamp_ms) : monitor_.observe(epoch, e);
    if (s.finite && (s.improved || best_.empty())) {
      best_.save(model_);
      best_epoch_ = epoch;
    }
    if (restore_on_stop_ && !was_stopping && monitor_.should_stop()) restored_ = restore_best();
    return s;
  }

  bool should_stop() const noexcept { return monitor_.should_stop(); }
  /// Puts the best weights back into the model; false if there are none.
  bool restore_best() { return best_.restore(model_); }
  /// True if the best weights were put back when the detector said stop.
  bool restored() const noexcept { return restored_; }
  /// The epoch whose weights are kept.
  std::int64_t best_epoch() const noexcept { return best_epoch_; }
  const detector& get_detector() const noexcept { return monitor_.get_detector(); }

  /// Writes the detector's state, the best epoch and the best weights into
  /// `archive` under the key "fitwatch" (next to the model's own keys).
  void save_state(torch::serialize::OutputArchive& archive) const {
    torch::serialize::OutputArchive mine;
    mine.write("monitor", c10::IValue(monitor_.save_state()));
    mine.write("best_epoch", c10::IValue(best_epoch_));
    mine.write("restored", c10::IValue(restored_));
    torch::serialize::OutputArchive best;
    best_.save_state(best);
    mine.write("best_weights", best);
    archive.write("fitwatch", mine);
  }
  /// Reads what save_state() wrote; unchanged if it throws.
  /// \throw error if the archive has no fitwatch state or a bad one
  /// (detector::restore_state() says why).
  void restore_state(torch::serialize::InputArchive& archive) {
    torch::serialize::InputArchive mine, best;
    c10::IValue state, best_epoch, restored;
    if (!archive.try_read("fitwatch", mine) || !mine.try_read("monitor", state) ||
        !state.isString() || !mine.try_read("best_epoch", best_epoch) || !best_epoch.isInt() ||
        !mine.try_read("restored", restored) || !restored.isBool() ||
        !mine.try_read("best_weights", best)) {
      throw error("checkpoint: no fitwatch state in the archive");
    }
    best_weights weights = best_;
    weights.restore_state(best);
    monitor_.restore_state(state.toStringRef());  // checks it all, or throws
    best_ = std::move(weights);
    best_epoch_ = best_epoch.toInt();
    restored_ = restored.toBool();
  }

 private:
  monitor monitor_;
  torch::nn::Module& model_;
  best_weights best_;
  bool restore_on_stop_;
  bool restored_ = false;
  std::int64_t best_epoch_ = -1;
};

}  // namespace fitwatch
