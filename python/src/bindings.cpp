// fitwatch._core: the Python bindings (pybind11) over the C++ library.
//
// Thin on purpose: every value, rule and line is computed by the same C++
// code a C++ program links (logger, monitor, detector); this file only
// converts arguments. The Pythonic surface (keyword arguments, context
// manager, defaults) is python/fitwatch/__init__.py.
//
// Adding a detector option: its row in the settings table (src/settings.cpp)
// binds it here too; DetectorOptions, Monitor(**options) pick it up from
// `_fields`; python/tests/test_api.py checks that `_fields` is exactly the
// options table of docs/detector.md.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"
#include "fitwatch/settings.hpp"

namespace py = pybind11;
using namespace fitwatch;

namespace {

// A detector option as a Python attribute, named and documented as the
// setting of the same name (docs/settings.md). Counts (std::size_t) take a
// Python int and reject a negative one with the detector's own wording; the
// mode is the text "min" or "max".
template <class T>
void option(py::class_<detector_options>& c, const std::string& name, T detector_options::*field,
            const char* doc) {
  if constexpr (std::is_same_v<T, std::size_t>) {
    c.def_property(
        name.c_str(), [field](const detector_options& o) { return o.*field; },
        [field, name](detector_options& o, long long v) {
          if (v < 0) {
            throw error("detector " + name + " must not be negative, got " + std::to_string(v));
          }
          o.*field = static_cast<std::size_t>(v);
        },
        doc);
  } else if constexpr (std::is_same_v<T, direction>) {
    c.def_property(
        name.c_str(),
        [field](const detector_options& o) { return o.*field == direction::max ? "max" : "min"; },
        [field, name](detector_options& o, const std::string& v) {
          if (v != "min" && v != "max") {
            throw error("detector " + name + " must be min or max, got \"" + v.substr(0, 200) +
                        "\"");
          }
          o.*field = v == "max" ? direction::max : direction::min;
        },
        doc);
  } else {
    c.def_readwrite(name.c_str(), field, doc);
  }
}

// Every detector option of the settings table, in its order: the names,
// types and descriptions are written once, in src/settings.cpp.
void bind_detector_options(py::module_& m) {
  py::class_<detector_options> c(m, "DetectorOptions",
                                 "The detector's rules and thresholds; the defaults are the C++ "
                                 "ones (docs/detector.md).");
  c.def(py::init<>());
  py::list names;
  for (const auto& spec : setting_specs()) {
    const auto field = detector_field_of(spec.name);
    if (!field) continue;  // a setting of the logger
    const std::string name(spec.name);
    // The table's descriptions are string literals: they outlive the module.
    std::visit([&](auto member) { option(c, name, member, spec.description.data()); }, *field);
    names.append(name);
  }
  c.attr("_fields") = py::tuple(names);
}

void bind_signals(py::module_& m) {
  py::class_<signals> c(m, "Signals", "The detector's signals after one evaluation.");
  py::list names;
  const auto field = [&](const char* name, auto member, const char* doc) {
    c.def_readonly(name, member, doc);
    names.append(name);
  };
  field("evaluation", &signals::evaluation, "0-based index of this evaluation");
  field("gap", &signals::gap, "validation - training loss");
  field("gap_ratio", &signals::gap_ratio, "(validation - training) / training");
  field("smoothed_validation", &signals::smoothed_validation, "the validation loss the rules read");
  field("rise_streak", &signals::rise_streak, "consecutive rises of the validation loss");
  field("since_best", &signals::since_best, "evaluations since the best validation loss");
  field("best_validation", &signals::best_validation, "best validation loss so far");
  field("best_evaluation", &signals::best_evaluation, "0-based index of the best evaluation");
  field("generalization_loss", &signals::generalization_loss,
        "percent above the best (Prechelt GL)");
  field("noise", &signals::noise, "robust std. dev. of the change per evaluation, 0 until known");
  field("train_trend", &signals::train_trend, "t of the training loss's slope (< 0: falling)");
  field("improved", &signals::improved, "this evaluation set a new best");
  field("diverged", &signals::diverged, "a loss was NaN/inf or above divergence_threshold");
  field("overfitting", &signals::overfitting, "the verdict, latched until a new best");
  field("finite", &signals::finite, "both losses finite");
  field("reason", &signals::reason, "which rule fired, empty if none");
  c.attr("_fields") = py::tuple(names);
  c.def("__repr__", [](const signals& s) {
    return "Signals(evaluation=" + std::to_string(s.evaluation) +
           ", overfitting=" + (s.overfitting ? "True" : "False") +
           ", diverged=" + (s.diverged ? "True" : "False") + ", generalization_loss=" +
           py::repr(py::float_(s.generalization_loss)).cast<std::string>() +
           ", since_best=" + std::to_string(s.since_best) +
           ", reason=" + py::repr(py::str(s.reason)).cast<std::string>() + ")";
  });
}

overflow_policy parse_overflow(const std::string& name) {
  if (name == "drop_oldest") return overflow_policy::drop_oldest;
  if (name == "drop_newest") return overflow_policy::drop_newest;
  if (name == "block") return overflow_policy::block;
  throw error("unknown overflow policy \"" + name + "\" (drop_oldest, drop_newest, block)");
}

std::chrono::milliseconds milliseconds(double seconds) {
  if (!(seconds >= 0) || seconds > 1e9) {
    throw error("a timeout must be 0 to 1e9 seconds, got " + std::to_string(seconds));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

dimension_set to_dimension_set(const py::dict& d) {
  dimension_set set;
  for (const auto& [name, value] : d) set.push_back({py::str(name), py::str(value)});
  return set;
}

// A property value keeps its Python type: bool, int, float or str.
void set_property(logger& log, property_id id, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) {
    log.set(id, v.cast<bool>());
  } else if (py::isinstance<py::int_>(v) || py::hasattr(v, "__index__")) {
    log.set(id, py::int_(py::reinterpret_borrow<py::object>(v)).cast<std::int64_t>());
  } else if (py::isinstance<py::str>(v)) {
    log.set(id, std::string_view(v.cast<std::string>()));
  } else if (py::isinstance<py::float_>(v) || py::hasattr(v, "__float__")) {
    log.set(id, v.cast<double>());
  } else {
    throw py::type_error("fitwatch: a property value must be bool, int, float or str, not " +
                         py::type::of(v).attr("__name__").cast<std::string>());
  }
}

// The monitor keeps the Python logger it writes to alive.
struct py_monitor {
  py_monitor(py::object log, const detector_options& options)
      : logger_object(std::move(log)), mon(logger_object.cast<logger&>(), options) {}
  py::object logger_object;
  monitor mon;
};

void bind_logger(py::module_& m) {
  py::class_<metric_id>(m, "Metric", "A declared metric: pass it to Logger.put().")
      .def("__repr__", [](const metric_id& id) {
        return "<fitwatch.Metric " + std::to_string(id.index) + ">";
      });
  py::class_<property_id>(m, "Property", "A declared property: pass it to Logger.set().")
      .def("__repr__", [](const property_id& id) {
        return "<fitwatch.Property " + std::to_string(id.index) + ">";
      });

  py::class_<logger>(m, "Logger")
      .def(py::init([](const std::string& ns, const std::string& job_name, bool default_dimensions,
                       std::optional<std::string> path, bool background_writer,
                       std::size_t queue_capacity, const std::string& overflow,
                       bool flush_on_sigterm, double sigterm_timeout, double shutdown_timeout,
                       const settings* from) {
             logger_options o;
             bool writes = true;
             if (from) {
               // As C++: namespace, job name and dimensions from the settings;
               // a rank that must not write gets a sink that discards lines.
               const auto rank = read_process_rank();
               o = from->logger_options_for(rank);
               writes = from->writes_metrics(rank);
             } else {
               o.namespace_name = ns;
               o.job_name = job_name;
               o.default_dimensions = default_dimensions;
             }
             if (path && writes) o.output = std::make_shared<file_sink>(*path);
             o.background_writer = background_writer;
             o.queue_capacity = queue_capacity;
             o.overflow = parse_overflow(overflow);
             o.flush_on_sigterm = flush_on_sigterm;
             o.sigterm_timeout = milliseconds(sigterm_timeout);
             o.shutdown_timeout = milliseconds(shutdown_timeout);
             return std::make_unique<logger>(std::move(o));
           }),
           py::arg("namespace"), py::arg("job_name"), py::arg("default_dimensions"),
           py::arg("path"), py::arg("background_writer"), py::arg("queue_capacity"),
           py::arg("overflow"), py::arg("flush_on_sigterm"), py::arg("sigterm_timeout"),
           py::arg("shutdown_timeout"), py::arg("settings") = py::none())
      .def(
          "metric",
          [](logger& log, std::string_view name, std::string_view unit_name, int resolution_) {
            const auto u = parse_unit(unit_name);
            if (!u) {
              throw error("metric \"" + std::string(name) + "\": unknown unit \"" +
                          std::string(unit_name) + "\"");
            }
            if (resolution_ != 1 && resolution_ != 60) {
              throw error("metric \"" + std::string(name) +
                          "\": storage resolution must be 1 or 60");
            }
            return log.metric(name, *u, static_cast<resolution>(resolution_));
          },
          py::arg("name"), py::arg("unit") = "None", py::arg("resolution") = 60)
      .def("property", &logger::property, py::arg("name"))
      .def("set_dimensions",
           [](logger& log, const std::vector<py::dict>& sets) {
             std::vector<dimension_set> out;
             for (const auto& d : sets) out.push_back(to_dimension_set(d));
             log.set_dimensions(out);
           })
      .def("add_dimensions",
           [](logger& log, const py::dict& d) { log.add_dimensions(to_dimension_set(d)); })
      .def("put", &logger::put, py::arg("metric"), py::arg("value"))
      .def(
          "set", [](logger& log, property_id id, const py::handle& v) { set_property(log, id, v); },
          py::arg("property"), py::arg("value"))
      .def("flush", &logger::flush)
      .def("flush_at", &logger::flush_at, py::arg("timestamp_ms"))
      .def(
          "drain", [](logger& log, double seconds) { return log.drain(milliseconds(seconds)); },
          py::arg("timeout") = 5.0, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("dropped_values", &logger::dropped_values)
      .def_property_readonly("dropped_evaluations", &logger::dropped_evaluations)
      .def_property_readonly("job_name", &logger::job_name)
      .def_property_readonly("namespace", &logger::namespace_name)
      .def_property_readonly("is_primary_host",
                             [](const logger& log) { return log.environment().is_primary_host(); });
}

void bind_monitor(py::module_& m) {
  py::class_<py_monitor>(m, "Monitor")
      .def(py::init<py::object, const detector_options&>(), py::arg("logger"), py::arg("options"))
      .def(
          "observe",
          [](py_monitor& self, std::int64_t epoch, double train_loss, double val_loss,
             std::optional<double> train_acc, std::optional<double> val_acc,
             std::optional<double> metric, std::optional<std::int64_t> timestamp,
             const py::kwargs& properties) {
            auto& log = self.logger_object.cast<logger&>();
            for (const auto& [name, value] : properties) {
              set_property(log, log.property(name.cast<std::string>()), value);
            }
            evaluation e{train_loss, val_loss, train_acc, val_acc};
            e.metric = metric;
            return timestamp ? self.mon.observe_at(epoch, e, *timestamp)
                             : self.mon.observe(epoch, e);
          },
          py::arg("epoch"), py::arg("train_loss"), py::arg("val_loss"), py::kw_only(),
          py::arg("train_acc") = py::none(), py::arg("val_acc") = py::none(),
          py::arg("metric") = py::none(), py::arg("timestamp") = py::none(),
          py::return_value_policy::copy)
      .def("should_stop", [](const py_monitor& self) { return self.mon.should_stop(); })
      .def_property_readonly("best_epoch",
                             [](const py_monitor& self) { return self.mon.best_epoch(); })
      .def_property_readonly(
          "signals", [](const py_monitor& self) { return self.mon.get_detector().current(); })
      .def_property_readonly(
          "options", [](const py_monitor& self) { return self.mon.get_detector().options(); })
      .def_property_readonly("logger", [](const py_monitor& self) { return self.logger_object; })
      .def("save_state", [](const py_monitor& self) { return self.mon.save_state(); })
      .def(
          "restore_state",
          [](py_monitor& self, const std::string& state) { self.mon.restore_state(state); },
          py::arg("state"));
}

// A Python mapping -> text values as SageMaker delivers them: a str is kept,
// anything else (an int, a float, a bool from SM_HPS's JSON) is its str(),
// so True is "True", which the C++ parser reads.
std::map<std::string, std::string> text_map(const py::dict& d) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : d) out[py::str(key)] = py::str(value);
  return out;
}

void bind_settings(py::module_& m) {
  py::class_<settings>(m, "Settings",
                       "Detector and logger settings read from hyperparameters and the "
                       "environment (docs/settings.md).")
      .def_property_readonly("detector", [](const settings& s) { return s.detector; })
      .def_property_readonly("namespace", [](const settings& s) { return s.namespace_name; })
      .def_property_readonly("job_name", [](const settings& s) { return s.job_name; })
      .def_property_readonly("default_dimensions",
                             [](const settings& s) { return s.default_dimensions; })
      .def(
          "value", [](const settings& s, std::string_view name) { return setting_value(s, name); },
          py::arg("name"))
      .def(
          "writes_metrics",
          [](const settings& s, long rank) {
            process_rank r;
            r.rank = rank;
            return s.writes_metrics(r);
          },
          py::arg("rank"));

  py::list names;
  for (const auto& spec : setting_specs()) names.append(std::string(spec.name));
  m.attr("SETTING_NAMES") = py::tuple(names);
  m.attr("HYPERPARAMETER_PREFIX") = std::string(hyperparameter_prefix);

  // The environment first, then the hyperparameters (they win), then the
  // same check the C++ front ends make.
  m.def(
      "read_settings",
      [](const py::dict& hyperparameters, const py::dict& environ) {
        settings s;
        const auto env = text_map(environ);
        for (const auto& spec : setting_specs()) {
          const auto variable = environment_variable_of(spec.name);
          if (const auto it = env.find(variable); it != env.end()) {
            apply_setting(s, spec.name, it->second, variable);
          }
        }
        apply_hyperparameters(s, text_map(hyperparameters));
        validate(s);
        return s;
      },
      py::arg("hyperparameters"), py::arg("environ"));
  m.def("read_process_rank", [] {
    const auto r = read_process_rank();
    return py::make_tuple(r.rank, r.local_rank, r.world_size);
  });
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fitwatch's C++ core (private; use the fitwatch package).";
  py::register_exception<error>(m, "Error", PyExc_ValueError);
  bind_detector_options(m);
  bind_signals(m);
  bind_settings(m);
  bind_logger(m);
  bind_monitor(m);
  m.def("schema_json", &schema_json, py::arg("namespace") = std::string(default_namespace),
        py::arg("options") = detector_options{});
  m.attr("DEFAULT_NAMESPACE") = std::string(default_namespace);
  py::list units;
  for (std::size_t i = 0; i < unit_count; ++i)
    units.append(std::string(to_string(static_cast<unit>(i))));
  m.attr("UNITS") = py::tuple(units);
  py::list metrics;
  for (const auto& s : signal_metrics) metrics.append(std::string(s.name));
  m.attr("SIGNAL_METRICS") = py::tuple(metrics);
}
