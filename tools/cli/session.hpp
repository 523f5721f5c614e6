// What `fitwatch replay` and `fitwatch watch` share: a session that reads
// the templates, feeds log lines to the alarm engine, and hands each
// transition to the dispatcher (emails) and the printer (text or JSON),
// with an optional HTML report.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "alarm_options.hpp"
#include "logs.hpp"

namespace fitwatch::cli {

/// The frame of both commands: --help, flags, the templates, then
/// `read(options, line)` feeds the log (a non-zero return stops there with
/// that exit code), then the clock runs to the end of the tail.
///
/// The error policy: every error becomes a message on `err` and exit code 2;
/// an email that could not be written or sent, exit code 3 (after the whole
/// log); a log of which no alarm read any datapoint, exit_no_match (4,
/// diagnose.hpp, with a message saying why). In watch, an error while
/// evaluating a line stops the evaluation, not the reading: `read` keeps
/// passing lines through, and the exit code is 2.
int run_alarms(const std::vector<std::string>& args, alarm_command command, std::ostream& out,
               std::ostream& err,
               const std::function<int(const alarm_options&, const line_fn&)>& read);

}  // namespace fitwatch::cli
