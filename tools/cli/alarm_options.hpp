// The flags of `fitwatch replay` and `fitwatch watch`, and their usage text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cfn/template.hpp"
#include "notify/dispatch.hpp"

namespace fitwatch::cli {

/// replay reads recorded logs; watch reads a live log from stdin, passes it
/// through and runs the clock as lines arrive.
enum class alarm_command { replay, watch };

/// --delivery-delay: each EMF event reaches CloudWatch (its datapoints and
/// its log line become visible) this long after its timestamp: fixed, or
/// drawn per line, uniformly in [min, max], reproducibly (seeded by the line
/// number).
struct delivery_delay {
  std::int64_t min_ms = 0, max_ms = 0;
  bool delayed() const { return max_ms > 0; }
  std::int64_t draw(std::size_t line) const;
};

/// "2m" (fixed) or "0..5m" (drawn per line).
/// \throw std::invalid_argument for a bad duration or min > max.
delivery_delay parse_delivery_delay(const std::string& s);

struct alarm_options {
  alarm_command command = alarm_command::replay;
  std::vector<std::string> templates;        ///< --template, once per stack
  cfn::template_options stack;               ///< --param, --region: shared by the stacks
  notify::dispatch_options delivery;         ///< --outbox; watch: --smtp and its options
  bool json = false;                         ///< --format json
  bool verbose = false;                      ///< --verbose: text shows every transition
  std::optional<std::int64_t> tail;          ///< --tail, ms
  delivery_delay delay;                      ///< --delivery-delay
  std::string html_report;                   ///< --report FILE.html
  std::int64_t html_report_every_ms = 5000;  ///< watch: rewrite the report at most this often
  std::vector<std::string> logs;             ///< replay: the log files (stdin if none)

  bool live() const { return command == alarm_command::watch; }
  /// "fitwatch replay" or "fitwatch watch", for messages.
  const char* name() const;
};

/// The usage text of replay and watch.
extern const char* const alarm_usage;

/// "0", "90s", "5m", "1h", "250ms" in milliseconds.
/// \throw std::invalid_argument naming the value: not a number, an unknown
/// unit, negative, or longer than a year.
std::int64_t parse_duration(const std::string& s);

/// replay's or watch's flags (watch's SMTP options only for watch).
/// \throw std::invalid_argument for a bad flag.
alarm_options parse_alarm_options(const std::vector<std::string>& args, alarm_command command);

/// The --report file is replaced by a new one: refuse one that is an input
/// (a log file, or stdin when it reads stdin) or that exists and is not a
/// regular file (a FIFO, a device such as /dev/stdout, a folder).
/// \throw std::invalid_argument naming the path.
void check_outputs(const alarm_options& o);

}  // namespace fitwatch::cli
