#include "cfn/decimal.hpp"
#include "commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <istream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <sstream>

#include "fitwatch/monitor.hpp"
#include "fitwatch/settings.hpp"
#include "logs.hpp"

namespace fitwatch::cli {
namespace {

constexpr const char* emit_usage_head = R"(usage: fitwatch emit [options] < evaluations

Reads one evaluation per line from stdin, runs fitwatch's overfitting
detector and writes the same EMF lines the C++ library writes.
Input lines: CSV  epoch,train_loss,val_loss[,train_acc,val_acc]  (an optional
header line names the columns), or JSON objects with those keys (and an
optional "timestamp" in ms since the epoch). The epoch and the timestamp are
integers; a loss may be NaN, Infinity or -Infinity (as Python's json writes
them): the detector reads that as divergence. Bad lines are reported on
stderr with their line number and skipped; the exit code is 1 if any line
was bad, 2 if stdout cannot be written or a setting is bad.
Any metric: with --monitor NAME (other than ValidationLoss) the rules read
the column or key NAME (a CSV names it in its header line) and the lines
carry it as NAME, its best as BestNAME; --mode max if higher is better
(--monitor val_f1 --mode max; docs/detector.md, "Any metric").

options:
  --passthrough             write every line that is not an evaluation (the
                            script's own log, EMF lines) to stdout unchanged,
                            in order; an evaluation is a JSON object with
                            "epoch" and "train_loss" or "val_loss", or a CSV
                            line whose first three fields are numbers
  --dimension NAME=VALUE    add a dimension to the set (repeatable)
settings (docs/settings.md; the meaning of each detector setting and why its
default: docs/detector.md). Each is also the environment variable
FITWATCH_<NAME> (FITWATCH_GL_THRESHOLD=10); a flag wins over the variable.
In a torchrun job (RANK set) only rank 0 writes EMF lines unless
--write-ranks all; --passthrough lines are always written. BOOL is true or
false (also True/False, 1/0).
)";

// Flags that are not the name of a setting: (flag, setting, value or empty
// if the flag takes one).
struct alias {
  std::string_view flag, setting, value;
};
constexpr alias aliases[] = {
    {"--gap-ratio", "gap_ratio_threshold", ""},
    {"--no-check-finite", "check_finite", "false"},
    {"--no-default-dimensions", "default_dimensions", "false"},
};

std::string flag_of(std::string_view setting) {
  std::string flag = "--" + std::string(setting);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

// The usage, with one line per setting made from setting_specs(), so that
// the two cannot drift.
std::string emit_usage() {
  std::string text = emit_usage_head;
  const settings defaults;
  for (const auto& spec : setting_specs()) {
    std::string meta = spec.type == "number"    ? "X"
                       : spec.type == "count"   ? "N"
                       : spec.type == "boolean" ? "BOOL"
                       : spec.type == "text"    ? "TEXT"
                                                : std::string(spec.type);  // "0 or all" -> 0|all
    if (const auto o = meta.find(" or "); o != std::string::npos) meta.replace(o, 4, "|");
    std::string line = "  " + flag_of(spec.name) + " " + meta;
    line.resize(std::max<std::size_t>(line.size() + 1, 28), ' ');
    text += line + std::string(spec.description);
    const auto value = setting_value(defaults, spec.name);
    if (!value.empty()) text += " [default " + value + "]";
    text += "\n";
  }
  text += "aliases:\n";
  for (const auto& a : aliases) {
    text += "  " + std::string(a.flag) + " = " + flag_of(a.setting) +
            (a.value.empty() ? std::string(" X") : " " + std::string(a.value)) + "\n";
  }
  return text;
}

// The library's errors ("fitwatch: setting --x=...: ...") said once:
// "fitwatch emit: setting --x=...: ...".
std::string message_of(const std::exception& e) {
  std::string what = e.what();
  constexpr std::string_view prefix = "fitwatch: ";
  if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
  return "fitwatch emit: " + what;
}

// --gl-threshold -> gl_threshold, if that is a setting; else empty.
std::string setting_of_flag(const std::string& flag) {
  for (const auto& spec : setting_specs()) {
    if (flag_of(spec.name) == flag) return std::string(spec.name);
  }
  return {};
}

double parse_field_number(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == ' ' || t.back() == '\r')) t.pop_back();
  while (!t.empty() && t.front() == ' ') t.erase(0, 1);
  if (t == "nan" || t == "NaN" || t == "null") return std::numeric_limits<double>::quiet_NaN();
  if (t == "inf" || t == "Infinity") return std::numeric_limits<double>::infinity();
  if (t == "-inf" || t == "-Infinity") return -std::numeric_limits<double>::infinity();
  // A finite decimal only: std::stod would also take hex ("0x10" = 16).
  const auto v = cfn::decimal_value(t);
  if (!v) throw std::invalid_argument("'" + text + "' is not a number");
  return *v;
}

// An epoch or a timestamp: an integer in the range of int64, written as an
// integer or as a float with no fraction (3.0); anything else is an error,
// never a silent cast (1.7 -> 1, 1e300 -> INT64_MIN).
std::int64_t integral(double v, const char* what) {
  if (!std::isfinite(v) || v != std::trunc(v)) {
    std::ostringstream text;
    text.precision(15);
    text << what << " must be an integer, got " << v;
    throw std::invalid_argument(text.str());
  }
  // 2^63 is exact as a double, and every integral double strictly between
  // -2^63 and 2^63 fits. -2^63 itself is refused here: as a double it is
  // also what -9223372036854775809 rounds to (JSON reads an integer literal
  // that fits int64 as an integer, not through this path).
  if (v <= -9223372036854775808.0 || v >= 9223372036854775808.0) {
    std::ostringstream text;
    text.precision(15);
    text << what << " " << v << " is out of range (a 64-bit integer)";
    throw std::invalid_argument(text.str());
  }
  return static_cast<std::int64_t>(v);
}

std::int64_t integral(const std::string& text, const char* what) {
  std::string t = text;
  while (!t.empty() && (t.back() == ' ' || t.back() == '\r')) t.pop_back();
  while (!t.empty() && t.front() == ' ') t.erase(0, 1);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc() && end == t.data() + t.size() && !t.empty()) return v;
  if (ec == std::errc::result_out_of_range) {
    throw std::invalid_argument(std::string(what) + " " + t +
                                " is out of range (a 64-bit integer)");
  }
  return integral(parse_field_number(text), what);
}

struct input_row {
  std::int64_t epoch = 0;
  evaluation e;
  std::optional<std::int64_t> timestamp;
};

struct csv_columns {
  int epoch = 0, train = 1, val = 2, train_acc = 3, val_acc = 4;
  int metric = -1;  // a named monitored metric: only from a header line
};

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

// Python's json module writes NaN, Infinity and -Infinity for non-finite
// floats, which JSON has no word for. Outside strings they become strings
// with a mark no real input carries, which number() turns back.
constexpr std::string_view non_finite_mark = "\x01";

std::string mark_non_finite(const std::string& line) {
  std::string out;
  out.reserve(line.size() + 16);
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < line.size()) {
        out += line[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const std::string_view word : {"-Infinity", "Infinity", "NaN"}) {
      if (line.compare(i, word.size(), word) == 0) {
        out += "\"\\u0001";
        out += word;
        out += '"';
        i += word.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

// `monitor`: the key of a named monitored metric, empty for the validation loss.
input_row parse_json(const nlohmann::json& j, const std::string& monitor) {
  const auto value = [&](const char* key, bool required) -> std::optional<double> {
    const auto it = j.find(key);
    if (it == j.end()) {
      if (required) throw std::invalid_argument(std::string("missing \"") + key + "\"");
      return std::nullopt;
    }
    // null: what some writers put for a missing or non-finite loss.
    if (it->is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (it->is_string()) {
      const auto& text = it->get_ref<const std::string&>();
      if (text.size() > non_finite_mark.size() &&
          text.compare(0, non_finite_mark.size(), non_finite_mark) == 0) {
        return parse_field_number(text.substr(non_finite_mark.size()));
      }
    }
    if (!it->is_number()) {
      throw std::invalid_argument(std::string("\"") + key + "\" is not a number (" +
                                  it->type_name() + ")");
    }
    if (it->is_number_unsigned() &&
        it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      throw std::invalid_argument(std::string("\"") + key + "\" " + it->dump() +
                                  " is out of range (a 64-bit integer)");
    }
    if (it->is_number_integer()) return static_cast<double>(it->get<std::int64_t>());
    return it->get<double>();
  };
  // Integers are read as integers, so that no digit is lost to a double.
  const auto integer = [&](const char* key) -> std::int64_t {
    const auto it = j.find(key);
    if (it != j.end() && it->is_null()) {
      throw std::invalid_argument(std::string("\"") + key + "\" is not a number (null)");
    }
    if (it != j.end() && it->is_number_integer() && !it->is_number_unsigned()) {
      return it->get<std::int64_t>();
    }
    if (it != j.end() && it->is_number_unsigned() &&
        it->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(it->get<std::uint64_t>());
    }
    return integral(*value(key, true), (std::string("\"") + key + "\"").c_str());
  };
  input_row r;
  r.epoch = integer("epoch");
  r.e.train_loss = *value("train_loss", true);
  r.e.validation_loss = *value("val_loss", true);
  r.e.train_accuracy = value("train_acc", false);
  r.e.validation_accuracy = value("val_acc", false);
  if (!monitor.empty()) r.e.metric = value(monitor.c_str(), true);
  if (j.contains("timestamp")) {
    r.timestamp = integer("timestamp");
    if (*r.timestamp < 0) {
      throw std::invalid_argument("\"timestamp\" must not be negative (ms since the epoch), got " +
                                  std::to_string(*r.timestamp));
    }
  }
  return r;
}

// With --passthrough, a JSON line is an evaluation only if it says so.
bool is_evaluation(const nlohmann::json& j) {
  return j.is_object() && !j.contains("_aws") && j.contains("epoch") &&
         (j.contains("train_loss") || j.contains("val_loss"));
}

input_row parse_csv(const std::string& line, const csv_columns& c, const std::string& monitor) {
  const auto f = split_csv(line);
  if (f.size() < 3) {
    throw std::invalid_argument("expected epoch,train_loss,val_loss[,train_acc,val_acc]");
  }
  const auto at = [&](int i) -> const std::string& {
    if (i < 0 || static_cast<std::size_t>(i) >= f.size()) {
      throw std::invalid_argument("expected at least 3 comma-separated fields");
    }
    return f[static_cast<std::size_t>(i)];
  };
  input_row r;
  r.epoch = integral(at(c.epoch), "epoch");
  r.e.train_loss = parse_field_number(at(c.train));
  r.e.validation_loss = parse_field_number(at(c.val));
  const auto optional = [&](int i) -> std::optional<double> {
    if (i < 0 || static_cast<std::size_t>(i) >= f.size() ||
        f[static_cast<std::size_t>(i)].empty()) {
      return std::nullopt;
    }
    return parse_field_number(f[static_cast<std::size_t>(i)]);
  };
  r.e.train_accuracy = optional(c.train_acc);
  r.e.validation_accuracy = optional(c.val_acc);
  if (!monitor.empty()) {
    if (c.metric < 0) {
      throw std::invalid_argument("no column " + monitor +
                                  " (the monitored metric): name it in a header line");
    }
    r.e.metric = parse_field_number(at(c.metric));
  }
  return r;
}

// A header line names the columns; returns nullopt if the line is data.
std::optional<csv_columns> parse_header(const std::string& line, const std::string& monitor) {
  const auto f = split_csv(line);
  if (f.empty()) return std::nullopt;
  try {
    parse_field_number(f[0]);
    return std::nullopt;  // a number: data, not a header
  } catch (const std::exception&) {
  }
  csv_columns c{-1, -1, -1, -1, -1, -1};
  for (std::size_t i = 0; i < f.size(); ++i) {
    std::string name = f[i];
    while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    const int k = static_cast<int>(i);
    if (name == "epoch") c.epoch = k;
    if (name == "train_loss") c.train = k;
    if (name == "val_loss" || name == "validation_loss") c.val = k;
    if (name == "train_acc" || name == "train_accuracy") c.train_acc = k;
    if (name == "val_acc" || name == "validation_accuracy") c.val_acc = k;
    if (!monitor.empty() && name == monitor) c.metric = k;
  }
  if (c.epoch < 0 || c.train < 0 || c.val < 0) {
    throw std::invalid_argument("header must name epoch, train_loss and val_loss");
  }
  if (!monitor.empty() && c.metric < 0) {
    throw std::invalid_argument("header must name the monitored metric " + monitor);
  }
  return c;
}

// With --passthrough, a CSV line is an evaluation if its epoch, training
// and validation loss fields are numbers.
bool is_csv_evaluation(const std::string& line, const csv_columns& c) {
  const auto f = split_csv(line);
  for (const int i : {c.epoch, c.train, c.val}) {
    if (i < 0 || static_cast<std::size_t>(i) >= f.size()) return false;
    try {
      parse_field_number(f[static_cast<std::size_t>(i)]);
    } catch (const std::exception&) {
      return false;
    }
  }
  return true;
}

}  // namespace

int emit_command(const std::vector<std::string>& args, std::istream& in, std::ostream& err) {
  settings s;
  std::vector<dimension> extra;
  bool passthrough = false;
  try {
    s = read_settings();  // FITWATCH_* variables; the flags below win
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      const auto next = [&]() -> std::string {
        if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
        return args[++i];
      };
      const alias* al = nullptr;
      for (const auto& x : aliases) {
        if (x.flag == a) al = &x;
      }
      if (a == "--dimension") {
        const auto kv = next();
        const auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--dimension needs NAME=VALUE");
        extra.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
      } else if (a == "--passthrough") {
        passthrough = true;
      } else if (a == "--help" || a == "-h") {
        std::cout << emit_usage();  // asked for: stdout, as every command's --help
        return std::cout.flush() ? 0 : 2;
      } else if (al != nullptr) {
        apply_setting(s, al->setting, al->value.empty() ? next() : std::string(al->value), a);
      } else if (const auto name = setting_of_flag(a); !name.empty()) {
        apply_setting(s, name, next(), a);
      } else {
        throw std::invalid_argument("unknown option " + a);
      }
    }
  } catch (const std::exception& e) {
    err << message_of(e) << "\n" << emit_usage();
    return 2;
  }

  // A closed stdout (emit >&-) loses every line: say so before reading.
  if (::fcntl(STDOUT_FILENO, F_GETFD) == -1) {
    err << "fitwatch emit: stdout is closed; nothing could be written\n";
    return 2;
  }
  const auto out = stdout_sink();
  try {
    const auto rank = read_process_rank();  // a bad RANK is reported; this process writes
    logger_options options = s.logger_options_for(rank);
    if (s.writes_metrics(rank)) options.output = out;  // its failed() is checked below
    options.background_writer = false;  // lines in input order, written before we read on
    options.flush_on_sigterm = false;
    logger log{options};
    if (!extra.empty()) {
      dimension_set set;
      if (options.default_dimensions) set.push_back({"TrainingJobName", log.job_name()});
      set.insert(set.end(), extra.begin(), extra.end());
      log.set_dimensions({set});
    }
    monitor mon{log, s.detector};
    // The column or key of a named monitored metric; empty: the validation loss.
    const std::string metric =
        s.detector.monitor == default_monitor ? std::string() : s.detector.monitor;
    std::string raw, line;
    std::size_t number = 0, bad = 0;
    std::optional<csv_columns> columns;
    bool first_data = true;
    // The logger writes synchronously (no background writer), so lines
    // passed through and EMF lines leave in input order. A line passes
    // through as it came, byte order mark included.
    line_reader reader(in);
    const auto pass = [&] {
      out->write((number == 1 && reader.had_bom() ? std::string(utf8_bom) : std::string()) + raw +
                 "\n");
    };
    // A line too long to keep is no evaluation; with --passthrough it goes
    // out as it is read.
    const auto spill = [&](std::string_view bytes) { out->write(bytes); };
    for (;;) {
      const auto status = reader.next(raw, passthrough ? spill : line_reader::spill_fn());
      if (status == line_reader::status::end) break;
      if (status == line_reader::status::failed) {
        err << "fitwatch emit: cannot read stdin: " << reader.error() << " (after line " << number
            << ")\n";
        return 2;
      }
      number = reader.number();
      if (status == line_reader::status::too_long) {
        if (passthrough) {
          out->write("\n");
        } else {
          ++bad;
          err << "fitwatch emit: line " << number << ": longer than " << max_line_bytes
              << " bytes (skipped)\n";
        }
        continue;
      }
      line = raw;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto start = line.find_first_not_of(" \t");
      if (start == std::string::npos) {
        if (passthrough) pass();
        continue;
      }
      try {
        input_row r;
        if (line[start] == '{') {
          auto j = nlohmann::json::parse(mark_non_finite(line), nullptr, false);
          if (passthrough && !is_evaluation(j)) {
            pass();
            continue;
          }
          if (j.is_discarded()) j = nlohmann::json::parse(line);  // throws, with the position
          if (!j.is_object()) throw std::invalid_argument("not a JSON object");
          r = parse_json(j, metric);
        } else {
          if (first_data && !columns) {
            try {
              columns = parse_header(line, metric);
            } catch (const std::exception&) {
              if (!passthrough) throw;
              pass();
              continue;
            }
            if (columns) {  // not an evaluation: passed through too
              if (passthrough) pass();
              continue;
            }
          }
          if (passthrough && !is_csv_evaluation(line, columns.value_or(csv_columns{}))) {
            pass();
            continue;
          }
          r = parse_csv(line, columns.value_or(csv_columns{}), metric);
        }
        first_data = false;
        if (r.timestamp) {
          mon.observe_at(r.epoch, r.e, *r.timestamp);
        } else {
          mon.observe(r.epoch, r.e);
        }
      } catch (const std::exception& e) {
        ++bad;
        err << "fitwatch emit: line " << number << ": " << e.what() << " (skipped)\n";
      }
    }
    if (out->failed() > 0) {  // /dev/full, a closed pipe: the lines are lost
      err << "fitwatch emit: " << out->failed() << " lines could not be written to stdout (lost)\n";
      return 2;
    }
    return bad == 0 ? 0 : 1;
  } catch (const std::exception& e) {  // set-up: a bad dimension, RANK or WORLD_SIZE
    err << message_of(e) << "\n";
    return 2;
  }
}

}  // namespace fitwatch::cli
