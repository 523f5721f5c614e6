#include "fitwatch/monitor.hpp"

#include <nlohmann/json.hpp>

namespace fitwatch {

std::string schema_json(std::string_view namespace_name) {
  nlohmann::ordered_json metrics = nlohmann::ordered_json::array();
  for (const auto& m : signal_metrics) {
    metrics.push_back({{"Name", m.name},
                       {"Unit", to_string(m.unit_)},
                       {"StorageResolution", static_cast<int>(m.resolution_)},
                       {"Description", m.description}});
  }
  const nlohmann::ordered_json schema = {
      {"Namespace", namespace_name},
      {"Dimensions", {{"TrainingJobName"}}},
      {"Metrics", metrics},
      {"Properties", {epoch_property, best_epoch_property, reason_property, "Host"}},
  };
  return schema.dump(2);
}

monitor::monitor(logger& log, detector_options options) : log_(log), detector_(options) {
  for (std::size_t i = 0; i < signal_metrics.size(); ++i) {
    const auto& m = signal_metrics[i];
    ids_[i] = log_.metric(m.name, m.unit_, m.resolution_);
  }
  epoch_ = log_.property(epoch_property);
  best_epoch_ = log_.property(best_epoch_property);
  reason_ = log_.property(reason_property);
}

void monitor::record(std::int64_t epoch, const evaluation& e) {
  const auto& s = detector_.update(e);
  if (s.improved || s.evaluation == 0) best_epoch_value_ = epoch;
  // Raw values first; the logger drops a NaN/Inf loss (and counts it), the
  // signals below still tell the story.
  log_.put(ids_[0], e.train_loss);
  log_.put(ids_[1], e.validation_loss);
  if (e.train_accuracy) log_.put(ids_[2], *e.train_accuracy);
  if (e.validation_accuracy) log_.put(ids_[3], *e.validation_accuracy);
  if (s.finite) {
    log_.put(ids_[4], s.gap);
    log_.put(ids_[5], s.gap_ratio);
    log_.put(ids_[6], s.generalization_loss);
    log_.put(ids_[7], static_cast<double>(s.rise_streak));
    log_.put(ids_[8], static_cast<double>(s.since_best));
    log_.put(ids_[9], s.best_validation);
  }
  log_.put(ids_[10], s.overfitting ? 1.0 : 0.0);
  log_.put(ids_[11], s.diverged ? 1.0 : 0.0);
  log_.set(epoch_, epoch);
  log_.set(best_epoch_, best_epoch_value_);
  log_.set(reason_, std::string_view(s.reason));
}

const signals& monitor::observe(std::int64_t epoch, const evaluation& e) {
  record(epoch, e);
  log_.flush();
  return detector_.current();
}

const signals& monitor::observe_at(std::int64_t epoch, const evaluation& e,
                                   std::int64_t timestamp_ms) {
  record(epoch, e);
  log_.flush_at(timestamp_ms);
  return detector_.current();
}

}  // namespace fitwatch
