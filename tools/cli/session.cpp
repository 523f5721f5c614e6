#include "session.hpp"

#include <sys/stat.h>

#include <algorithm>
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
#include <set>
#include <sstream>

#include "alarms/cloudwatch_text.hpp"
#include "alarms/engine.hpp"
#include "alarms/log_clock.hpp"
#include "cfn/decimal.hpp"
#include "diagnose.hpp"
#include "emf/validate.hpp"
#include "notify/email.hpp"
#include "notify/outbox.hpp"
#include "notify/smtp.hpp"
#include "report/report.hpp"

namespace fitwatch::tools {
namespace {

using nlohmann::json;

std::int64_t parse_duration(const std::string& s) {
  constexpr double max_ms = 366.0 * 24 * 3600 * 1000;
  const auto bad = [&](const char* why) {
    return std::invalid_argument("duration '" + s + "' " + why + ": use 0, 90s, 5m or 1h");
  };
  const auto number = leading_decimal(s);
  if (!number) throw bad("is not a number");
  const auto [v, used] = *number;
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
  if (v < 0) throw bad("is negative");
  if (v * factor > max_ms) throw bad("is longer than a year");
  return static_cast<std::int64_t>(v * factor);
}

// A stack name for a template file among several: its stem, as
// CloudFormation allows one (a letter, then letters, digits and hyphens),
// made unique among the names already `taken`.
std::string stack_name_of(const std::string& path, const std::vector<std::string>& taken) {
  std::string stem = path.substr(path.find_last_of('/') + 1);  // npos + 1 = 0
  stem = stem.substr(0, std::min<std::size_t>(stem.find('.'), 100));
  std::string name;
  for (const char c : stem) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) name = "stack-" + name;
  std::string unique = name;
  for (int i = 2; std::find(taken.begin(), taken.end(), unique) != taken.end(); ++i)
    unique = name + "-" + std::to_string(i);
  return unique;
}

// Adds one stack's alarms and topics to the others'. CloudWatch alarm names
// are unique in an account and Region, and so are topic names.
void merge_stack(template_model& all, template_model&& m) {
  const auto check = [&](const std::string& name, bool taken, const char* what) {
    if (taken) {
      throw template_error(std::string(what) + " " + name +
                           " is also declared by an earlier --template (stacks " + all.stack_name +
                           "); names are unique in an account and Region");
    }
  };
  const auto alarm_taken = [&](const std::string& name) {
    for (const auto& a : all.alarms)
      if (a.name == name) return true;
    for (const auto& a : all.composites)
      if (a.name == name) return true;
    return false;
  };
  for (auto& a : m.alarms) {
    check(a.name, alarm_taken(a.name), "alarm");
    all.alarms.push_back(std::move(a));
  }
  for (auto& a : m.composites) {
    check(a.name, alarm_taken(a.name), "alarm");
    all.composites.push_back(std::move(a));
  }
  for (auto& tp : m.topics) {
    bool taken = false;
    for (const auto& other : all.topics) taken |= other.arn == tp.arn;
    check(tp.arn, taken, "topic");
    all.topics.push_back(std::move(tp));
  }
  for (auto& s : m.skipped) all.skipped.push_back(std::move(s));
  all.stack_name += (all.stack_name.empty() ? "" : ", ") + m.stack_name;
}

// --template once or more: each file is one stack, evaluated on its own
// with the --param values it declares (with several files, a value the
// file does not declare is ignored for it), then the stacks' alarms and
// topics are merged as one account's: an alarm whose action is another
// stack's topic (a job stack notifying the team stack's topic) emails that
// topic's subscribers. The message of an error names the file.
template_model read_stacks(const alarms_options& o) {
  template_model all;
  all.region = o.t.region;
  all.account_id = o.t.account_id;
  const bool several = o.templates.size() > 1;
  std::vector<std::string> names;
  std::set<std::string> declared;  // --param names some template declares
  for (const auto& path : o.templates) {
    try {
      std::ifstream f(path, std::ios::binary);
      if (!f) throw template_error("cannot open " + path + ": " + std::strerror(errno));
      std::stringstream text;
      text << f.rdbuf();
      const auto parsed = parse_template(text.str());
      template_options t = o.t;
      if (several) {
        t.stack_name = stack_name_of(path, names);
        const bool has =
            parsed.is_object() && parsed.contains("Parameters") && parsed["Parameters"].is_object();
        for (auto it = t.parameters.begin(); it != t.parameters.end();) {
          if (has && parsed["Parameters"].contains(it->first)) {
            declared.insert(it->first);
            ++it;
          } else {
            it = t.parameters.erase(it);
          }
        }
      }
      names.push_back(t.stack_name);
      merge_stack(all, evaluate_template(parsed, t));
    } catch (const std::exception& e) {
      throw template_error(path + ": " + e.what());
    }
  }
  for (const auto& [name, value] : o.t.parameters) {
    if (several && declared.count(name) == 0)
      throw template_error("--param " + name + "=" + value + ": no template declares " + name);
  }
  return all;
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
    if (!o_.json) note_unknown_topics(model_, err_);
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
    inventory_.start_line();
    const auto r =
        validate_line(text, {}, &event_, wanted_, html_ ? &run_report::picks() : nullptr);
    if (r.kind == line_kind::plain) {
      inventory_.plain(text);
      return;
    }
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

  // Returns the exit code: 3 if an email could not be written or sent,
  // exit_no_match (4) if no alarm read any datapoint.
  int finish() {
    const auto last = engine_.store().last_timestamp();
    if (!last) {
      if (html_) write_report();
      return explain();
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
    if (lost == 0) {
      return explain();
    }
    err_ << "fitwatch: " << lost << " of " << emails_ << " emails not written or not sent\n";
    return 3;
  }

  std::size_t invalid() const { return invalid_; }

 private:
  // Why nothing happened, if so (diagnose.hpp): 0 or exit_no_match.
  int explain() {
    return explain_no_match(model_, engine_.store(), inventory_,
                            {lines_, events_, invalid_, rejected_}, !o_.json, err_);
  }

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
        if (t.contributor_level()) j["contributor_id"] = t.contributor_id;
        j["sns_message"] = json::parse(sns_message(t, model_));
        report_ << j.dump() << "\n";
      } else {
        report_ << iso_time(t.time_ms) << "  " << t.alarm_name
                << (t.contributor_level() ? " [" + printable(t.contributor) + "]" : "") << "  "
                << to_string(t.old_state) << " -> " << to_string(t.new_state);
        if (t.epoch) report_ << "  (epoch " << *t.epoch << ")";
        report_ << "\n    " << printable(t.reason) << "\n";
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
  std::function<bool(std::string_view, std::string_view)> wanted_ = [this](std::string_view ns,
                                                                           std::string_view name) {
    inventory_.metric(ns, name);
    return engine_.wants(ns, name);
  };
  log_clock clock_;
  log_inventory inventory_;
  std::size_t lines_ = 0, events_ = 0, invalid_ = 0, rejected_ = 0, transitions_ = 0, emails_ = 0,
              unwritten_ = 0;
};

}  // namespace

const char* const alarms_usage = R"(usage: fitwatch replay --template FILE... [options] [LOG...]
       fitwatch watch  --template FILE... [options] < live log

Evaluates the CloudFormation template's CloudWatch alarms on an EMF log with
CloudWatch's rules (periods, statistics, M of N, TreatMissingData, composite
alarms, Metrics Insights GROUP BY), on a clock that ticks like CloudWatch's
evaluator, and renders the email every subscribed address would receive.
replay reads LOG files (stdin if none); watch reads a live log from stdin,
passes every line through to stdout and reports transitions on stderr.

options:
  --template FILE        a template (YAML or JSON), one stack    (required)
                         Repeatable: e.g. templates/team.yaml and a job's
                         stack with --param TeamTopicArn=<team topic ARN>;
                         each is evaluated on its own, then their alarms
                         and topics are merged, so an alarm notifying
                         another stack's topic emails its subscribers
  --param KEY=VALUE      a template parameter (repeatable); with several
                         templates, each gets only the parameters it
                         declares (ignored for the others)
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
Exit codes: 0 done, 2 bad flags or template, 3 an email not written or sent,
4 no alarm read any datapoint of the log (no EMF event, or every metric in
another namespace, name or dimension value: each alarm is shown with what it
expects and what the log holds).
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
      o.templates.push_back(next());
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
  if (o.templates.empty()) throw std::invalid_argument("--template is required");
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
    s = std::make_unique<session>(o, read_stacks(o), live ? err : out, err);
  } catch (const std::exception& e) {
    err << name << ": " << e.what() << "\n";
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
