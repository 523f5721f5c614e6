#include "fitwatch/monitor.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "fitwatch/error.hpp"

namespace fitwatch {
namespace {

// The value each metric of signal_metrics carries, found by its name, so
// that reordering or extending the table cannot put a value under the wrong
// name. nullopt: not written on this line (no accuracy reported; the
// signals of a non-finite loss).
using value_fn = std::optional<double> (*)(const evaluation&, const signals&);
struct metric_value {
  std::string_view name;
  value_fn value;
};
using opt = std::optional<double>;
constexpr metric_value metric_values[] = {
    {"TrainLoss", [](const evaluation& e, const signals&) -> opt { return e.train_loss; }},
    {"ValidationLoss",
     [](const evaluation& e, const signals&) -> opt { return e.validation_loss; }},
    {"TrainAccuracy", [](const evaluation& e, const signals&) -> opt { return e.train_accuracy; }},
    {"ValidationAccuracy",
     [](const evaluation& e, const signals&) -> opt { return e.validation_accuracy; }},
    {"GeneralizationGap",
     [](const evaluation&, const signals& s) -> opt { return s.finite ? opt(s.gap) : opt(); }},
    {"GeneralizationGapRatio",
     [](const evaluation&, const signals& s) -> opt {
       return s.finite ? opt(s.gap_ratio) : opt();
     }},
    {"GeneralizationLoss",
     [](const evaluation&, const signals& s) -> opt {
       return s.finite ? opt(s.generalization_loss) : opt();
     }},
    {"ValidationLossRiseStreak",
     [](const evaluation&, const signals& s) -> opt {
       return s.finite ? opt(static_cast<double>(s.rise_streak)) : opt();
     }},
    {"EvaluationsSinceBest",
     [](const evaluation&, const signals& s) -> opt {
       return s.finite ? opt(static_cast<double>(s.since_best)) : opt();
     }},
    {"BestValidationLoss",
     [](const evaluation&, const signals& s) -> opt {
       return s.finite ? opt(s.best_validation) : opt();
     }},
    {"OverfittingDetected",
     [](const evaluation&, const signals& s) -> opt { return s.overfitting ? 1.0 : 0.0; }},
    {"TrainingDiverged",
     [](const evaluation&, const signals& s) -> opt { return s.diverged ? 1.0 : 0.0; }},
};

constexpr value_fn value_of(std::string_view name) {
  for (const auto& m : metric_values) {
    if (m.name == name) return m.value;
  }
  return nullptr;
}

// signal_metrics[i] carries table_values[i]; checked when compiling.
constexpr std::array<value_fn, signal_metrics.size()> values_in_table_order() {
  std::array<value_fn, signal_metrics.size()> out{};
  for (std::size_t i = 0; i < signal_metrics.size(); ++i) out[i] = value_of(signal_metrics[i].name);
  return out;
}
constexpr auto table_values = values_in_table_order();

constexpr bool every_metric_has_a_value() {
  for (const auto v : table_values) {
    if (v == nullptr) return false;
  }
  return true;
}
static_assert(every_metric_has_a_value(),
              "a metric of signal_metrics has no entry in metric_values");

}  // namespace

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
  // In the order of the table: raw values first. The logger drops a NaN/Inf
  // loss (and counts it); the signals still tell the story.
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    if (const auto v = table_values[i](e, s)) log_.put(ids_[i], *v);
  }
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

std::string monitor::save_state() const {
  const nlohmann::json state = {{"detector", nlohmann::json::parse(detector_.save_state())},
                                {"best_epoch", best_epoch_value_}};
  return state.dump();
}

void monitor::restore_state(std::string_view text) {
  constexpr std::size_t limit = 128 * 1024;
  if (text.size() > limit) throw error("monitor state: larger than 131072 bytes");
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("detector") || !j.contains("best_epoch")) {
    throw error("monitor state: not an object with \"detector\" and \"best_epoch\"");
  }
  const auto& best = j["best_epoch"];
  if (!best.is_number_integer() ||
      (best.is_number_unsigned() &&
       best.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
    throw error("monitor state: best_epoch is not a whole number");
  }
  detector_.restore_state(j["detector"].dump());  // checks it, or throws unchanged
  best_epoch_value_ = j["best_epoch"].get<std::int64_t>();
}

}  // namespace fitwatch
