// The C ABI (include/fitwatch/fitwatch.h) over the C++ library: handles are
// the C++ objects, every exception is caught at the boundary and becomes a
// status with its message kept per thread. Thin on purpose, like the
// pybind11 bindings it replaces: values, rules and lines are the C++ ones.
#include "fitwatch/fitwatch.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"
#include "fitwatch/settings.hpp"
#include "option_text.hpp"

struct fw_options {
  fitwatch::detector_options value;
};
struct fw_settings {
  fitwatch::settings value;
};
struct fw_logger {
  explicit fw_logger(fitwatch::logger_options o) : value(std::move(o)) {}
  fitwatch::logger value;
};
struct fw_monitor {
  fw_monitor(fw_logger& log, const fitwatch::detector_options& o) : value(log.value, o) {}
  fitwatch::monitor value;
};

namespace {

using namespace fitwatch;

thread_local std::string last_error;

fw_status fail(fw_status status, const char* message) noexcept {
  try {
    last_error = message;
  } catch (...) {  // no room for the message: the status still tells
  }
  return status;
}

// Runs `f`, turning an exception into a status and a message.
template <class F>
fw_status guarded(F&& f) noexcept {
  try {
    f();
    return FW_OK;
  } catch (const fitwatch::error& e) {
    return fail(FW_ERROR, e.what());
  } catch (const std::bad_alloc&) {
    return fail(FW_FAILURE, "fitwatch: out of memory");
  } catch (const std::exception& e) {
    return fail(FW_FAILURE, e.what());
  } catch (...) {
    return fail(FW_FAILURE, "fitwatch: unknown failure");
  }
}

std::string_view view(const char* s, std::size_t n) {
  return s == nullptr ? std::string_view() : std::string_view(s, n);
}

// A copy the caller frees with fw_free().
void give(const std::string& s, char** out, std::size_t* length) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  *out = p;
  if (length != nullptr) *length = s.size();
}

// The detector options of the settings table, in its order.
struct option_row {
  std::string name;
  detector_field field;
  std::string_view description;
};
const std::vector<option_row>& options_table() {
  static const std::vector<option_row> rows = [] {
    std::vector<option_row> out;
    for (const auto& spec : setting_specs()) {
      if (const auto f = detector_field_of(spec.name)) {
        out.push_back({std::string(spec.name), *f, spec.description});
      }
    }
    return out;
  }();
  return rows;
}

const std::vector<std::string>& names(int table) {
  static const std::vector<std::string> units = [] {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < unit_count; ++i) out.emplace_back(to_string(static_cast<unit>(i)));
    return out;
  }();
  static const std::vector<std::string> metrics = [] {
    std::vector<std::string> out;
    for (const auto& s : signal_metrics) out.emplace_back(s.name);
    return out;
  }();
  static const std::vector<std::string> settings_names = [] {
    std::vector<std::string> out;
    for (const auto& s : setting_specs()) out.emplace_back(s.name);
    return out;
  }();
  static const std::vector<std::string> options = [] {
    std::vector<std::string> out;
    for (const auto& r : options_table()) out.push_back(r.name);
    return out;
  }();
  static const std::vector<std::string> none;
  switch (table) {
    case FW_TABLE_UNITS:
      return units;
    case FW_TABLE_SIGNAL_METRICS:
      return metrics;
    case FW_TABLE_SETTINGS:
      return settings_names;
    case FW_TABLE_OPTIONS:
      return options;
    default:
      return none;
  }
}

int kind_of(const detector_field& f) {
  return std::visit(
      [](auto member) {
        using T = std::remove_reference_t<decltype(std::declval<detector_options>().*member)>;
        if constexpr (std::is_same_v<T, double>) return FW_NUMBER;
        if constexpr (std::is_same_v<T, std::size_t>) return FW_COUNT;
        if constexpr (std::is_same_v<T, bool>) return FW_BOOLEAN;
        if constexpr (std::is_same_v<T, std::string>) return FW_TEXT;
        return FW_MODE;
      },
      f);
}

const option_row& option_at(std::size_t i) {
  const auto& rows = options_table();
  if (i >= rows.size()) throw error("no detector option " + std::to_string(i));
  return rows[i];
}

dimension_set dimension_pairs(std::size_t count, const char* const* names_,
                              const std::size_t* name_lengths, const char* const* values,
                              const std::size_t* value_lengths) {
  dimension_set set;
  for (std::size_t i = 0; i < count; ++i) {
    set.push_back({std::string(view(names_[i], name_lengths[i])),
                   std::string(view(values[i], value_lengths[i]))});
  }
  return set;
}

void copy_signals(const signals& s, fw_signals* out) noexcept {
  out->evaluation = static_cast<std::int64_t>(s.evaluation);
  out->gap = s.gap;
  out->gap_ratio = s.gap_ratio;
  out->smoothed_validation = s.smoothed_validation;
  out->rise_streak = static_cast<std::int64_t>(s.rise_streak);
  out->since_best = static_cast<std::int64_t>(s.since_best);
  out->best_validation = s.best_validation;
  out->best_evaluation = static_cast<std::int64_t>(s.best_evaluation);
  out->generalization_loss = s.generalization_loss;
  out->noise = s.noise;
  out->train_trend = s.train_trend;
  out->improved = s.improved;
  out->diverged = s.diverged;
  out->overfitting = s.overfitting;
  out->finite = s.finite;
  out->reason_length =
      static_cast<std::uint32_t>(std::min<std::size_t>(s.reason.size(), UINT32_MAX));
  const std::size_t n = std::min(s.reason.size(), sizeof out->reason - 1);
  std::memcpy(out->reason, s.reason.data(), n);
  out->reason[n] = '\0';
}

}  // namespace

extern "C" {

int fw_abi_version(void) {
  return FW_ABI_VERSION;
}
const char* fw_version(void) {
  return FITWATCH_VERSION;
}
const char* fw_last_error(void) {
  return last_error.c_str();
}
void fw_free(void* p) {
  std::free(p);
}

size_t fw_table_size(int table) {
  try {
    return names(table).size();
  } catch (...) {
    return 0;
  }
}
const char* fw_table_name(int table, size_t i) {
  try {
    const auto& n = names(table);
    return i < n.size() ? n[i].c_str() : nullptr;
  } catch (...) {
    return nullptr;
  }
}
int fw_option_kind(size_t option) {
  try {
    return kind_of(option_at(option).field);
  } catch (...) {
    return -1;
  }
}
const char* fw_option_description(size_t option) {
  try {
    return option_at(option).description.data();  // a string literal of the table
  } catch (...) {
    return nullptr;
  }
}
const char* fw_default_namespace(void) {
  return default_namespace.data();
}
const char* fw_hyperparameter_prefix(void) {
  return hyperparameter_prefix.data();
}

fw_status fw_options_new(fw_options** out) {
  return guarded([&] { *out = new fw_options{}; });
}
fw_status fw_options_copy(const fw_options* from, fw_options** out) {
  return guarded([&] { *out = new fw_options{from->value}; });
}
void fw_options_free(fw_options* o) {
  delete o;
}

fw_status fw_options_set(fw_options* o, size_t option, double number, const char* text,
                         size_t length) {
  return guarded([&] {
    const auto& row = option_at(option);
    std::visit(
        [&](auto member) {
          auto& field = o->value.*member;
          using T = std::remove_reference_t<decltype(field)>;
          if constexpr (std::is_same_v<T, double>) {
            field = number;
          } else if constexpr (std::is_same_v<T, std::size_t>) {
            if (!(number >= 0)) {
              throw error("detector " + row.name + " must not be negative, got " +
                          std::to_string(static_cast<long long>(number)));
            }
            if (number >= 18446744073709551616.0 ||
                number != static_cast<double>(static_cast<std::uint64_t>(number))) {
              throw error("detector " + row.name + " must be a whole number");
            }
            field = static_cast<std::size_t>(number);
          } else if constexpr (std::is_same_v<T, bool>) {
            field = number != 0;
          } else if constexpr (std::is_same_v<T, std::string>) {
            field = std::string(view(text, length));
          } else {
            const auto v = view(text, length);
            if (v != "min" && v != "max") {
              throw error("detector " + row.name + " must be min or max, got \"" +
                          std::string(v.substr(0, 200)) + "\"");
            }
            field = v == "max" ? direction::max : direction::min;
          }
        },
        row.field);
  });
}

fw_status fw_options_get(const fw_options* o, size_t option, double* number, char** text,
                         size_t* length) {
  return guarded([&] {
    const auto& row = option_at(option);
    std::visit(
        [&](auto member) {
          const auto& field = o->value.*member;
          using T = std::remove_cv_t<std::remove_reference_t<decltype(field)>>;
          if constexpr (std::is_same_v<T, std::string>) {
            give(field, text, length);
          } else if constexpr (std::is_same_v<T, direction>) {
            give(field == direction::max ? "max" : "min", text, length);
          } else {
            *number = static_cast<double>(field);
          }
        },
        row.field);
  });
}

fw_status fw_schema_json(const char* ns, size_t ns_length, const fw_options* o, char** json,
                         size_t* length) {
  return guarded([&] {
    give(schema_json(view(ns, ns_length), o ? o->value : detector_options{}), json, length);
  });
}

fw_status fw_settings_read(size_t hp_count, const char* const* hp_names,
                           const size_t* hp_name_lengths, const char* const* hp_values,
                           const size_t* hp_value_lengths, size_t env_count,
                           const char* const* env_names, const size_t* env_name_lengths,
                           const char* const* env_values, const size_t* env_value_lengths,
                           fw_settings** out) {
  return guarded([&] {
    auto s = std::make_unique<fw_settings>();
    std::map<std::string_view, std::string_view> env;
    for (size_t i = 0; i < env_count; ++i) {
      env[view(env_names[i], env_name_lengths[i])] = view(env_values[i], env_value_lengths[i]);
    }
    // The environment first, then the hyperparameters (they win), then the
    // check every C++ front end makes.
    for (const auto& spec : setting_specs()) {
      const auto variable = environment_variable_of(spec.name);
      if (const auto it = env.find(variable); it != env.end()) {
        apply_setting(s->value, spec.name, it->second, variable);
      }
    }
    std::map<std::string, std::string> hps;
    for (size_t i = 0; i < hp_count; ++i) {
      hps[std::string(view(hp_names[i], hp_name_lengths[i]))] =
          std::string(view(hp_values[i], hp_value_lengths[i]));
    }
    apply_hyperparameters(s->value, hps);
    validate(s->value);
    *out = s.release();
  });
}
void fw_settings_free(fw_settings* s) {
  delete s;
}
fw_status fw_settings_options(const fw_settings* s, fw_options** out) {
  return guarded([&] { *out = new fw_options{s->value.detector}; });
}
fw_status fw_settings_value(const fw_settings* s, const char* name, size_t name_length, char** text,
                            size_t* length) {
  return guarded([&] { give(setting_value(s->value, view(name, name_length)), text, length); });
}
int fw_settings_writes_metrics(const fw_settings* s, int64_t rank) {
  process_rank r;
  r.rank = static_cast<long>(rank);
  return s->value.writes_metrics(r) ? 1 : 0;
}
fw_status fw_read_process_rank(int64_t* rank, int64_t* local_rank, int64_t* world_size) {
  return guarded([&] {
    const auto r = read_process_rank();
    *rank = r.rank;
    *local_rank = r.local_rank;
    *world_size = r.world_size;
  });
}

fw_status fw_logger_new(const char* ns, size_t ns_length, const char* job_name,
                        size_t job_name_length, int default_dimensions, const char* path,
                        int background_writer, size_t queue_capacity, int overflow,
                        int flush_on_sigterm, double sigterm_timeout, double shutdown_timeout,
                        const fw_settings* from, fw_logger** out) {
  return guarded([&] {
    logger_options o;
    bool writes = true;
    if (from != nullptr) {
      // As C++: namespace, job name and dimensions from the settings; a rank
      // that must not write gets a sink that discards lines.
      const auto rank = read_process_rank();
      o = from->value.logger_options_for(rank);
      writes = from->value.writes_metrics(rank);
    } else {
      o.namespace_name = std::string(view(ns, ns_length));
      o.job_name = std::string(view(job_name, job_name_length));
      o.default_dimensions = default_dimensions != 0;
    }
    if (path != nullptr && writes) o.output = std::make_shared<file_sink>(path);
    o.background_writer = background_writer != 0;
    o.queue_capacity = queue_capacity;
    switch (overflow) {
      case 0:
        o.overflow = overflow_policy::drop_oldest;
        break;
      case 1:
        o.overflow = overflow_policy::drop_newest;
        break;
      case 2:
        o.overflow = overflow_policy::block;
        break;
      default:
        throw error("unknown overflow policy " + std::to_string(overflow));
    }
    o.flush_on_sigterm = flush_on_sigterm != 0;
    o.sigterm_timeout = detail::milliseconds_of_seconds(sigterm_timeout);
    o.shutdown_timeout = detail::milliseconds_of_seconds(shutdown_timeout);
    *out = new fw_logger(std::move(o));
  });
}
void fw_logger_free(fw_logger* log) {
  delete log;
}

fw_status fw_logger_metric(fw_logger* log, const char* name, size_t name_length, const char* unit_,
                           size_t unit_length, int resolution_, uint32_t* id) {
  return guarded([&] {
    const auto n = view(name, name_length);
    const auto u = parse_unit(view(unit_, unit_length));
    if (!u) {
      throw error("metric \"" + std::string(n) + "\": unknown unit \"" +
                  std::string(view(unit_, unit_length)) + "\"");
    }
    if (resolution_ != 1 && resolution_ != 60) {
      throw error("metric \"" + std::string(n) + "\": storage resolution must be 1 or 60");
    }
    *id = log->value.metric(n, *u, static_cast<resolution>(resolution_)).index;
  });
}
fw_status fw_logger_property(fw_logger* log, const char* name, size_t name_length, uint32_t* id) {
  return guarded([&] { *id = log->value.property(view(name, name_length)).index; });
}
fw_status fw_logger_set_dimensions(fw_logger* log, size_t set_count, const size_t* set_sizes,
                                   const char* const* names_, const size_t* name_lengths,
                                   const char* const* values, const size_t* value_lengths) {
  return guarded([&] {
    std::vector<dimension_set> sets;
    size_t at = 0;
    for (size_t i = 0; i < set_count; ++i) {
      sets.push_back(dimension_pairs(set_sizes[i], names_ + at, name_lengths + at, values + at,
                                     value_lengths + at));
      at += set_sizes[i];
    }
    log->value.set_dimensions(sets);
  });
}
fw_status fw_logger_add_dimensions(fw_logger* log, size_t count, const char* const* names_,
                                   const size_t* name_lengths, const char* const* values,
                                   const size_t* value_lengths) {
  return guarded([&] {
    log->value.add_dimensions(dimension_pairs(count, names_, name_lengths, values, value_lengths));
  });
}
void fw_logger_put(fw_logger* log, uint32_t metric, double value) {
  log->value.put(metric_id{metric}, value);
}
void fw_logger_set_number(fw_logger* log, uint32_t property, double value) {
  log->value.set(property_id{property}, value);
}
void fw_logger_set_integer(fw_logger* log, uint32_t property, int64_t value) {
  log->value.set(property_id{property}, static_cast<std::int64_t>(value));
}
void fw_logger_set_boolean(fw_logger* log, uint32_t property, int value) {
  log->value.set(property_id{property}, value != 0);
}
void fw_logger_set_text(fw_logger* log, uint32_t property, const char* value, size_t length) {
  log->value.set(property_id{property}, view(value, length));
}
void fw_logger_flush(fw_logger* log) {
  log->value.flush();
}
void fw_logger_flush_at(fw_logger* log, int64_t timestamp_ms) {
  log->value.flush_at(static_cast<std::int64_t>(timestamp_ms));
}
fw_status fw_logger_drain(fw_logger* log, double timeout, int* drained) {
  return guarded(
      [&] { *drained = log->value.drain(detail::milliseconds_of_seconds(timeout)) ? 1 : 0; });
}
uint64_t fw_logger_dropped_values(const fw_logger* log) {
  return log->value.dropped_values();
}
uint64_t fw_logger_dropped_evaluations(const fw_logger* log) {
  return log->value.dropped_evaluations();
}
const char* fw_logger_job_name(const fw_logger* log) {
  return log->value.job_name().c_str();
}
const char* fw_logger_namespace(const fw_logger* log) {
  return log->value.namespace_name().c_str();
}
int fw_logger_is_primary_host(const fw_logger* log) {
  return log->value.environment().is_primary_host() ? 1 : 0;
}

fw_status fw_monitor_new(fw_logger* log, const fw_options* options, fw_monitor** out) {
  return guarded(
      [&] { *out = new fw_monitor(*log, options ? options->value : detector_options{}); });
}
void fw_monitor_free(fw_monitor* mon) {
  delete mon;
}

void fw_monitor_observe(fw_monitor* mon, int64_t epoch, double train_loss, double val_loss,
                        double train_acc, double val_acc, double metric, int64_t timestamp_ms,
                        unsigned present, fw_signals* out) {
  evaluation e{train_loss, val_loss};
  if (present & FW_TRAIN_ACC) e.train_accuracy = train_acc;
  if (present & FW_VAL_ACC) e.validation_accuracy = val_acc;
  if (present & FW_METRIC) e.metric = metric;
  const signals& s = (present & FW_TIMESTAMP) ? mon->value.observe_at(epoch, e, timestamp_ms)
                                              : mon->value.observe(epoch, e);
  if (out != nullptr) copy_signals(s, out);
}
int fw_monitor_should_stop(const fw_monitor* mon) {
  return mon->value.should_stop() ? 1 : 0;
}
int64_t fw_monitor_best_epoch(const fw_monitor* mon) {
  return mon->value.best_epoch();
}
void fw_monitor_signals(const fw_monitor* mon, fw_signals* out) {
  copy_signals(mon->value.get_detector().current(), out);
}
fw_status fw_monitor_reason(const fw_monitor* mon, char** reason, size_t* length) {
  return guarded([&] { give(mon->value.get_detector().current().reason, reason, length); });
}
fw_status fw_monitor_options(const fw_monitor* mon, fw_options** out) {
  return guarded([&] { *out = new fw_options{mon->value.get_detector().options()}; });
}
fw_status fw_monitor_save_state(const fw_monitor* mon, char** state, size_t* length) {
  return guarded([&] { give(mon->value.save_state(), state, length); });
}
fw_status fw_monitor_restore_state(fw_monitor* mon, const char* state, size_t length) {
  return guarded([&] { mon->value.restore_state(view(state, length)); });
}

}  // extern "C"
