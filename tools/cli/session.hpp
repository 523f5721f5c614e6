// What `fitwatch replay` and `fitwatch watch` share: their flags, reading
// the template, and a session that feeds log lines to the alarm engine and
// reports each transition with the emails it sends (text or JSON, an
// outbox of .eml files, SMTP for watch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cfn/template.hpp"
#include "logs.hpp"
#include "notify/smtp.hpp"

namespace fitwatch::tools {

struct alarms_options {
  std::vector<std::string> templates;  ///< --template, once per stack
  template_options t;                  ///< --param values are shared by the stacks
  std::string outbox;
  bool json = false;
  std::optional<std::int64_t> tail;
  smtp_options smtp;                    ///< watch only; no url: no SMTP
  std::string report;                   ///< --report FILE.html
  std::int64_t report_every_ms = 5000;  ///< watch: rewrite the report at most this often
  std::vector<std::string> logs;
};

/// The usage text of replay and watch.
extern const char* const alarms_usage;

/// replay's (live = false) or watch's flags.
/// \throw std::invalid_argument for a bad flag.
alarms_options parse_alarms_options(const std::vector<std::string>& args, bool live);

/// The frame of both commands: --help, flags, the template, then
/// `read(options, line)` feeds the log (a non-zero return stops there with
/// that exit code), then the clock runs to the end of the tail. Every
/// error becomes a message on `err` and exit code 2; an email that could
/// not be written or sent, exit code 3 (after the whole log); a log of
/// which no alarm read any datapoint, exit_no_match (4, diagnose.hpp, with
/// a message saying why). In watch
/// (`live`), an error while evaluating a line stops the evaluation, not the
/// reading: `read` keeps passing lines through, and the exit code is 2.
int run_alarms(const std::vector<std::string>& args, bool live, std::ostream& out,
               std::ostream& err,
               const std::function<int(const alarms_options&, const line_fn&)>& read);

}  // namespace fitwatch::tools
