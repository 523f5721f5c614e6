#include "alarm_options.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "cfn/decimal.hpp"

namespace fitwatch::cli {
namespace {

// The first line of a file (the SMTP password: never on the command line).
std::string read_password(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string line;
  if (!f || !std::getline(f, line))
    throw std::invalid_argument("--smtp-password-file " + path + ": cannot read it");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

const char* alarm_options::name() const {
  return live() ? "fitwatch watch" : "fitwatch replay";
}

std::int64_t parse_duration(const std::string& s) {
  constexpr double max_ms = 366.0 * 24 * 3600 * 1000;
  const auto bad = [&](const char* why) {
    return std::invalid_argument("duration '" + s + "' " + why + ": use 0, 90s, 5m or 1h");
  };
  const auto number = cfn::leading_decimal(s);
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

std::int64_t delivery_delay::draw(std::size_t line) const {
  if (max_ms <= min_ms) return min_ms;
  std::uint64_t z = static_cast<std::uint64_t>(line) + 0x9e3779b97f4a7c15ULL;  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return min_ms + static_cast<std::int64_t>(z % static_cast<std::uint64_t>(max_ms - min_ms + 1));
}

delivery_delay parse_delivery_delay(const std::string& s) {
  delivery_delay d;
  const auto dots = s.find("..");
  if (dots == std::string::npos) {
    d.min_ms = d.max_ms = parse_duration(s);
  } else {
    d.min_ms = parse_duration(s.substr(0, dots));
    d.max_ms = parse_duration(s.substr(dots + 2));
    if (d.min_ms > d.max_ms)
      throw std::invalid_argument("--delivery-delay " + s + ": the minimum is above the maximum");
  }
  return d;
}

const char* const alarm_usage = R"(usage: fitwatch replay --template FILE... [options] [LOG...]
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
                         (JSON: every transition)
  --verbose              text: print every transition; by default only
                         changes to ALARM, returns to OK from ALARM, and
                         transitions that email
  --tail DURATION        keep the clock running after the last line: 0, 90s,
                         5m, 1h (default: the longest evaluation range)
  --delivery-delay D     each line reaches CloudWatch D after its timestamp
                         (fixed: 2m; drawn per line: 0..5m), as EMF metrics
                         from SageMaker's log shipping do: alarms and the
                         formatter see a line only from then (default 0)
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

alarm_options parse_alarm_options(const std::vector<std::string>& args, alarm_command command) {
  alarm_options o;
  o.command = command;
  const bool live = o.live();
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
      o.stack.parameters[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a == "--region") {
      o.stack.region = next();
    } else if (a == "--outbox") {
      o.delivery.outbox = next();
    } else if (a == "--format") {
      const auto f = next();
      if (f != "text" && f != "json") throw std::invalid_argument("--format is text or json");
      o.json = f == "json";
    } else if (a == "--verbose") {
      o.verbose = true;
    } else if (a == "--tail") {
      o.tail = parse_duration(next());
    } else if (a == "--delivery-delay") {
      o.delay = parse_delivery_delay(next());
    } else if (a == "--report") {
      o.html_report = next();
    } else if (a == "--report-every" && live) {
      o.html_report_every_ms = parse_duration(next());
    } else if (a == "--smtp" && live) {
      o.delivery.smtp.url = next();
    } else if (a == "--from" && live) {
      o.delivery.smtp.from = next();
    } else if (a == "--smtp-user" && live) {
      o.delivery.smtp.user = next();
    } else if (a == "--smtp-password-file" && live) {
      o.delivery.smtp.password = read_password(next());
    } else if (a == "--smtp-insecure" && live) {
      o.delivery.smtp.insecure = true;
    } else if (a == "--smtp-timeout" && live) {
      o.delivery.smtp.timeout = std::chrono::seconds((parse_duration(next()) + 999) / 1000);
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      throw std::invalid_argument("unknown option " + a);
    } else if (live) {
      throw std::invalid_argument("watch reads stdin; no log files");
    } else {
      o.logs.push_back(a);
    }
  }
  if (o.templates.empty()) throw std::invalid_argument("--template is required");
  if (!o.delivery.smtp.url.empty()) {
    const char* env = std::getenv("FITWATCH_SMTP_PASSWORD");
    if (o.delivery.smtp.password.empty() && env != nullptr) o.delivery.smtp.password = env;
    notify::check_smtp_options(o.delivery.smtp);
  }
  return o;
}

void check_outputs(const alarm_options& o) {
  if (o.html_report.empty()) return;
  struct stat out {};
  if (::stat(o.html_report.c_str(), &out) != 0) return;  // a new file
  if (!S_ISREG(out.st_mode)) {
    throw std::invalid_argument("--report " + o.html_report +
                                " is not a regular file; it would be replaced by one");
  }
  const auto same = [&](const struct stat& in) {
    return in.st_dev == out.st_dev && in.st_ino == out.st_ino;
  };
  struct stat in {};
  for (const auto& log : o.logs) {
    if (::stat(log.c_str(), &in) == 0 && same(in))
      throw std::invalid_argument("--report " + o.html_report + " is the log " + log +
                                  "; it would be replaced");
  }
  if (o.logs.empty() && ::fstat(STDIN_FILENO, &in) == 0 && same(in))
    throw std::invalid_argument("--report " + o.html_report +
                                " is the log on stdin; it would be replaced");
}

}  // namespace fitwatch::cli
