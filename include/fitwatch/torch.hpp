// fitwatch: the libtorch adapter — the only fitwatch header that includes
// torch. Header-only, so the library itself never depends on libtorch.
//
// torch_monitor reads loss tensors with .item() once per evaluation (it
// copies to the host and waits for the GPU, so never call it per step),
// runs the detector, writes the EMF line, keeps the weights of the best
// evaluation (in memory, or in a checkpoint file), and restores them when
// the detector says stop (Keras restore_best_weights).
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
    evaluation e{scalar(train_loss), scalar(validation_loss), train_accuracy, validation_accuracy};
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

 private:
  monitor monitor_;
  torch::nn::Module& model_;
  best_weights best_;
  bool restore_on_stop_;
  bool restored_ = false;
  std::int64_t best_epoch_ = -1;
};

}  // namespace fitwatch
