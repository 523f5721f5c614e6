#include "fitwatch/monitor.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "cloudwatch_names.hpp"
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

constexpr std::string_view best_metric = "BestValidationLoss";
constexpr std::string_view host_property = "Host";
constexpr std::string_view job_dimension = "TrainingJobName";

bool named(std::string_view monitor) {
  return monitor != default_monitor;
}

// The name a metric of signal_metrics is written under: the best follows
// the monitored metric, every other keeps its name.
std::string name_of(const metric_spec& m, std::string_view monitor) {
  return m.name == best_metric ? best_metric_name(monitor) : std::string(m.name);
}

}  // namespace

std::string best_metric_name(std::string_view monitor) {
  return "Best" + std::string(monitor);
}

void check_monitor_name(std::string_view name) {
  check_metric_name(name);
  check_metric_name(best_metric_name(name));
  if (!named(name)) return;
  const auto taken = [](std::string_view n) {
    for (const auto& m : signal_metrics) {
      if (m.name == n) return true;
    }
    for (const auto p :
         {epoch_property, best_epoch_property, reason_property, host_property, job_dimension}) {
      if (p == n) return true;
    }
    return false;
  };
  for (const auto& n : {std::string(name), best_metric_name(name)}) {
    if (taken(n)) {
      throw error("monitored metric \"" + std::string(name) + "\": " + n +
                  " is a name fitwatch already writes on the line");
    }
  }
}

std::string schema_json(std::string_view namespace_name, const detector_options& options) {
  check_monitor_name(options.monitor);
  const auto metric = [](const std::string& name, unit u, resolution r, std::string_view what) {
    return nlohmann::ordered_json{{"Name", name},
                                  {"Unit", to_string(u)},
                                  {"StorageResolution", static_cast<int>(r)},
                                  {"Description", what}};
  };
  const bool is_named = named(options.monitor);
  nlohmann::ordered_json metrics = nlohmann::ordered_json::array();
  for (const auto& m : signal_metrics) {
    const std::string best_text = "best (smoothed) " + options.monitor + " so far";
    metrics.push_back(metric(name_of(m, options.monitor), m.unit_, m.resolution_,
                             is_named && m.name == best_metric ? best_text : m.description));
  }
  if (is_named) {
    metrics.push_back(metric(options.monitor, unit::none, resolution::high,
                             "the monitored validation metric of the evaluation"));
  }
  const bool max = options.mode == direction::max;
  const nlohmann::ordered_json schema = {
      {"Namespace", namespace_name},
      {"Dimensions", {{job_dimension}}},
      {"Metrics", metrics},
      {"Properties", {epoch_property, best_epoch_property, reason_property, host_property}},
      {"Monitor",
       {{"Name", options.monitor},
        {"Mode", max ? "max" : "min"},
        {"Best", best_metric_name(options.monitor)},
        {"Description",
         "the validation metric the rules read (settings monitor and mode). A metric other than "
         "ValidationLoss is written under its own name and its best under Best<name>; "
         "GeneralizationLoss, ValidationLossRiseStreak, EvaluationsSinceBest, "
         "OverfittingDetected and TrainingDiverged keep their names for every metric and measure "
         "it worse than its best: above it with mode min, below it with mode max"}}},
  };
  return schema.dump(2);
}

monitor::monitor(logger& log, detector_options options) : log_(log), detector_(options) {
  const auto& name = detector_.options().monitor;
  check_monitor_name(name);
  for (std::size_t i = 0; i < signal_metrics.size(); ++i) {
    const auto& m = signal_metrics[i];
    ids_[i] = log_.metric(name_of(m, name), m.unit_, m.resolution_);
  }
  if (named(name)) monitored_ = log_.metric(name, unit::none, resolution::high);
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
  if (monitored_) {  // a missing value is not written (the detector reads it as NaN)
    if (e.metric) log_.put(*monitored_, *e.metric);
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
