#include "session.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <regex>
#include <sstream>

#include "alarms/cloudwatch_text.hpp"
#include "alarms/engine.hpp"
#include "alarms/log_clock.hpp"
#include "emf/validate.hpp"
#include "notify/email.hpp"
#include "notify/outbox.hpp"
#include "notify/smtp.hpp"
#include "report/report.hpp"

namespace fitwatch::tools {
namespace {

using nlohmann::json;

// A finite decimal number (optional sign, fraction, exponent) and nothing
// else: no "nan", "inf", hex or trailing text; nullopt otherwise. With
// `used_out`, a leading number, its length stored there (a duration).
std::optional<double> decimal(const std::string& s, std::size_t* used_out = nullptr) {
  static const std::regex number(R"(^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)");
  std::smatch m;
  if (!std::regex_search(s, m, number)) return std::nullopt;
  const double v = std::strtod(m.str().c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  if (used_out != nullptr) {
    *used_out = static_cast<std::size_t>(m.length());
  } else if (static_cast<std::size_t>(m.length()) != s.size()) {
    return std::nullopt;
  }
  return v;
}

std::int64_t parse_duration(const std::string& s) {
  constexpr double max_ms = 366.0 * 24 * 3600 * 1000;
  const auto bad = [&](const char* why) {
    return std::invalid_argument("duration '" + s + "' " + why + ": use 0, 90s, 5m or 1h");
  };
  std::size_t used = 0;
  const auto v = decimal(s, &used);
  if (!v) throw bad("is not a number");
  const std::string unit = s.substr(used);
  double factor = 1000;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60000;
  } else if (unit == "h") {
    factor = 3600000;
  } else if (!unit.empty() && unit != "s") {
    throw bad("has an unknown unit");
  }
  if (*v < 0) throw bad("is negative");
  if (*v * factor > max_ms) throw bad("is longer than a year");
  return static_cast<std::int64_t>(*v * factor);
}

// CloudFormation would refuse a Number parameter that is not a number; a
// NaN or Infinity threshold would make every comparison meaningless.
void check_number_parameters(const nlohmann::json& tmpl, const template_options& t) {
  const auto params = tmpl.find("Parameters");
  if (params == tmpl.end() || !params->is_object()) return;
  for (const auto& [name, value] : t.parameters) {
    const auto p = params->find(name);
    if (p == params->end() || !p->is_object() || p->value("Type", "") != "Number") continue;
    if (!decimal(value)) {
      throw template_error("--param " + name + "=" + value +
                           ": a Number parameter needs a finite decimal number");
    }
  }
}

std::string safe(const std::string& s) {
  std::string out;
  for (const char c : s)
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '@' ? c : '_';
  return out;
}

// The first line of a file (the SMTP password: never on the command line).
std::string read_password(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string line;
  if (!f || !std::getline(f, line))
    throw std::invalid_argument("--smtp-password-file " + path + ": cannot read it");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

class session {
 public:
  session(const alarms_options& o, template_model model, std::ostream& report, std::ostream& err)
      : o_(o), model_(std::move(model)), engine_(model_), report_(report), err_(err) {
    if (!o_.outbox.empty()) make_outbox(o_.outbox);
    if (!o_.smtp.url.empty()) {
      smtp_ = std::make_unique<smtp_sender>(o_.smtp, err_);
      if (o_.smtp.insecure) err_ << "fitwatch watch: --smtp-insecure: TLS is not required\n";
    }
    if (!o_.report.empty()) html_ = std::make_unique<run_report>(model_);
  }

  // Before the first line: an empty report, so a path that cannot be
  // written fails at once (and watch's report exists from the start).
  void start() {
    if (html_) write_report();
  }

  // One log line: validated as CloudWatch Logs would; EMF events feed the
  // metrics. In live mode the clock first runs up to the line's timestamp.
  void line(const std::string& text, const std::string& where, std::size_t number, bool live) {
    ++lines_;
    const auto r =
        validate_line(text, {}, &event_, wanted_, html_ ? &run_report::picks() : nullptr);
    if (r.kind == line_kind::plain) return;
    if (r.kind == line_kind::invalid) {
      ++invalid_;
      err_ << where << ":" << number
           << ": invalid EMF, skipped: " << (r.errors.empty() ? "" : r.errors.front()) << "\n";
      return;
    }
    ++events_;
    if (const auto why = clock_.admit(event_.timestamp_ms)) {
      ++rejected_;
      err_ << where << ":" << number << ": " << *why << ", skipped\n";
      return;
    }
    if (html_) html_->add_event(event_);
    if (live && engine_.store().first_timestamp())
      report(engine_.advance_to(event_.timestamp_ms - 1));
    if (!engine_.store().add(event_, number)) {  // after year 9999: no alarm can evaluate it
      ++rejected_;
      err_ << where << ":" << number << ": timestamp " << iso_time(event_.timestamp_ms)
           << " is after year 9999, skipped\n";
    }
    if (html_ && live &&
        std::chrono::steady_clock::now() - written_ >=
            std::chrono::milliseconds(o_.report_every_ms)) {
      // A failed rewrite must not stop the lines passing through: say so, retry later.
      try {
        write_report();
      } catch (const std::exception& e) {
        err_ << "fitwatch watch: " << e.what() << " (retrying)\n";
        written_ = std::chrono::steady_clock::now();
      }
    }
  }

  // Returns the exit code: 3 if an email could not be written or sent.
  int finish() {
    const auto last = engine_.store().last_timestamp();
    if (!last) {
      err_ << "fitwatch: no EMF event to evaluate in the log\n";
      if (html_) write_report();
      return 0;
    }
    // Through the last timestamp (the tick that evaluates its period), then the tail.
    const std::int64_t end = engine_.settled_after(*last);
    report(engine_.advance_to(end + o_.tail.value_or(engine_.longest_range_ms())));
    if (html_) write_report();
    if (!o_.json) {
      report_ << transitions_ << " transitions, " << emails_ << " emails"
              << (o_.outbox.empty() ? "" : " written to " + o_.outbox) << " (" << lines_
              << " lines, " << events_ << " EMF events, " << invalid_ << " invalid"
              << (rejected_ == 0
                      ? ""
                      : ", " + std::to_string(rejected_) + " outside CloudWatch's time window")
              << ")\n";
    }
    const std::size_t lost = unwritten_ + (smtp_ ? smtp_->finish() : 0);
    if (lost == 0) return 0;
    err_ << "fitwatch: " << lost << " of " << emails_ << " emails not written or not sent\n";
    return 3;
  }

  std::size_t invalid() const { return invalid_; }

 private:
  void write_report() {
    html_->write_file(o_.report);
    written_ = std::chrono::steady_clock::now();
  }

  void report(const std::vector<transition>& ts) {
    for (const auto& t : ts) {
      ++transitions_;
      json emails = json::array();
      for (const auto& action : t.actions) {
        for (const auto& tp : model_.topics) {
          if (tp.arn != action) continue;
          for (const auto& to : tp.emails) {
            const auto e = render_email(t, model_, tp, to);
            json entry = {{"to", to}, {"subject", e.subject}};
            if (!o_.outbox.empty()) {
              char prefix[16];
              std::snprintf(prefix, sizeof prefix, "%03zu", ++emails_);
              const std::string path = o_.outbox + "/" + prefix + "-" + safe(t.alarm_name) + "-" +
                                       to_string(t.new_state) + "-" + safe(to) + ".eml";
              const auto error = write_outbox_file(path, to_rfc5322(e));
              if (error.empty()) {
                entry["file"] = path;
              } else {
                ++unwritten_;
                entry["error"] = error;
                err_ << "fitwatch: cannot write " << path << ": " << error << "\n";
              }
            } else {
              ++emails_;
            }
            if (smtp_) smtp_->send(e);
            emails.push_back(entry);
          }
        }
      }
      if (html_) {
        std::vector<std::string> to;
        for (const auto& e : emails) to.push_back(e["to"].get<std::string>());
        html_->add_transition(t, to);
      }
      if (o_.json) {
        json j = {{"time", iso_time(t.time_ms)},
                  {"time_ms", t.time_ms},
                  {"alarm", t.alarm_name},
                  {"type", t.composite ? "composite" : "metric"},
                  {"old_state", to_string(t.old_state)},
                  {"new_state", to_string(t.new_state)},
                  {"reason", t.reason},
                  {"emails", emails}};
        j["epoch"] = t.epoch ? json(*t.epoch) : json(nullptr);
        if (!t.contributor.empty()) j["contributors"] = t.contributor;
        report_ << j.dump() << "\n";
      } else {
        report_ << iso_time(t.time_ms) << "  " << t.alarm_name << "  " << to_string(t.old_state)
                << " -> " << to_string(t.new_state);
        if (t.epoch) report_ << "  (epoch " << *t.epoch << ")";
        report_ << "\n    " << t.reason << "\n";
        for (const auto& e : emails) {
          report_ << "    email to " << e["to"].get<std::string>() << ": "
                  << (e.contains("file") ? e["file"].get<std::string>()
                                         : e["subject"].get<std::string>())
                  << "\n";
        }
      }
      report_.flush();
    }
  }

  const alarms_options& o_;
  template_model model_;
  engine engine_;
  std::ostream& report_;
  std::ostream& err_;
  std::unique_ptr<smtp_sender> smtp_;
  extracted_event event_;
  std::unique_ptr<run_report> html_;
  std::chrono::steady_clock::time_point written_;
  // The store gets only the metrics some alarm reads; the report reads its
  // own by position (run_report::picks), without copying them.
  std::function<bool(std::string_view, std::string_view)> wanted_ =
      [this](std::string_view ns, std::string_view name) { return engine_.wants(ns, name); };
  log_clock clock_;
  std::size_t lines_ = 0, events_ = 0, invalid_ = 0, rejected_ = 0, transitions_ = 0, emails_ = 0,
              unwritten_ = 0;
};

}  // namespace

const char* const alarms_usage = R"(usage: fitwatch replay --template FILE [options] [LOG...]
       fitwatch watch  --template FILE [options] < live log

Evaluates the CloudFormation template's CloudWatch alarms on an EMF log with
CloudWatch's rules (periods, statistics, M of N, TreatMissingData, composite
alarms, Metrics Insights GROUP BY), on a clock that ticks like CloudWatch's
evaluator, and renders the email every subscribed address would receive.
replay reads LOG files (stdin if none); watch reads a live log from stdin,
passes every line through to stdout and reports transitions on stderr.

options:
  --template FILE        the template (YAML or JSON)             (required)
  --param KEY=VALUE      a template parameter (repeatable)
  --region REGION        (us-east-1)
  --outbox DIR           write each email as DIR/NNN-<alarm>-<state>-<to>.eml
  --format text|json     transitions as text (default) or one JSON object each
  --tail DURATION        keep the clock running after the last line: 0, 90s,
                         5m, 1h (default: the longest evaluation range)
  --smtp URL             watch only: also send the emails through this server:
                         smtps://H:P, or smtp://H:P with STARTTLS (required)
  --from ADDRESS         watch only: the envelope sender (fitwatch@localhost)
  --smtp-user USER       watch only: log in as USER, with the password from
  --smtp-password-file F   the first line of F, or FITWATCH_SMTP_PASSWORD
  --smtp-insecure        watch only: allow smtp:// without TLS (local relay)
  --smtp-timeout DURATION  watch only: the longest one attempt may take, and
                         the longest wait at the end for queued emails (30s)
  --report FILE.html     also write an HTML report: losses, signals, alarm
                         states and emails on one time axis (watch rewrites
                         it as lines arrive and at the end)
  --report-every DURATION  watch only: rewrite the report at most this often (5s)
Exit codes: 0 done, 2 bad flags or template, 3 an email not written or sent.
)";

alarms_options parse_alarms_options(const std::vector<std::string>& args, bool live) {
  alarms_options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return args[++i];
    };
    if (a == "--template") {
      o.template_file = next();
    } else if (a == "--param") {
      const auto kv = next();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--param needs KEY=VALUE");
      o.t.parameters[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a == "--region") {
      o.t.region = next();
    } else if (a == "--outbox") {
      o.outbox = next();
    } else if (a == "--format") {
      const auto f = next();
      if (f != "text" && f != "json") throw std::invalid_argument("--format is text or json");
      o.json = f == "json";
    } else if (a == "--tail") {
      o.tail = parse_duration(next());
    } else if (a == "--report") {
      o.report = next();
    } else if (a == "--report-every" && live) {
      o.report_every_ms = parse_duration(next());
    } else if (a == "--smtp" && live) {
      o.smtp.url = next();
    } else if (a == "--from" && live) {
      o.smtp.from = next();
    } else if (a == "--smtp-user" && live) {
      o.smtp.user = next();
    } else if (a == "--smtp-password-file" && live) {
      o.smtp.password = read_password(next());
    } else if (a == "--smtp-insecure" && live) {
      o.smtp.insecure = true;
    } else if (a == "--smtp-timeout" && live) {
      o.smtp.timeout = std::chrono::seconds((parse_duration(next()) + 999) / 1000);
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      throw std::invalid_argument("unknown option " + a);
    } else if (live) {
      throw std::invalid_argument("watch reads stdin; no log files");
    } else {
      o.logs.push_back(a);
    }
  }
  if (o.template_file.empty()) throw std::invalid_argument("--template is required");
  if (!o.smtp.url.empty()) {
    const char* env = std::getenv("FITWATCH_SMTP_PASSWORD");
    if (o.smtp.password.empty() && env != nullptr) o.smtp.password = env;
    check_smtp_options(o.smtp);
  }
  return o;
}

int run_alarms(const std::vector<std::string>& args, bool live, std::ostream& out,
               std::ostream& err,
               const std::function<int(const alarms_options&, const line_fn&)>& read) {
  const char* name = live ? "fitwatch watch" : "fitwatch replay";
  alarms_options o;
  try {
    for (const auto& a : args) {
      if (a == "--help" || a == "-h") {
        out << alarms_usage;
        return 0;
      }
    }
    o = parse_alarms_options(args, live);
  } catch (const std::exception& e) {
    err << name << ": " << e.what() << "\n" << alarms_usage;
    return 2;
  }
  std::unique_ptr<session> s;
  try {
    std::ifstream f(o.template_file, std::ios::binary);
    if (!f) throw template_error("cannot open " + o.template_file + ": " + std::strerror(errno));
    std::stringstream text;
    text << f.rdbuf();
    const auto parsed = parse_template(text.str());
    check_number_parameters(parsed, o.t);
    s = std::make_unique<session>(o, evaluate_template(parsed, o.t), live ? err : out, err);
  } catch (const std::exception& e) {
    err << name << ": " << o.template_file << ": " << e.what() << "\n";
    return 2;
  }
  // Past the template, an error can still come from evaluating it (metric
  // math on real values) or from the output: a message and an exit code,
  // never an exception out of the command. watch keeps passing lines
  // through after one: the training's output must never stop.
  bool stopped = false;
  try {
    s->start();
    const int rc =
        read(o, [&](const std::string& text, const std::string& where, std::size_t number) {
          if (stopped) return;
          try {
            s->line(text, where, number, live);
          } catch (const std::exception& e) {
            if (!live) throw;
            stopped = true;
            err << name << ": " << where << ":" << number << ": " << e.what()
                << "; alarms are no longer evaluated, lines still pass through\n";
          }
        });
    if (rc != 0) return rc;
    if (stopped) return 2;
    return s->finish();
  } catch (const std::exception& e) {
    err << name << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace fitwatch::tools
