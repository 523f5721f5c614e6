// The commands of the fitwatch executable, one file each. Every command
// parses its own flags, turns every error into a message on `err` and
// returns the exit code: 0 success, 1 bad input lines, 2 usage or setup
// error (bad flags, unreadable file, invalid template), 3 an email of
// replay/watch that could not be written to the outbox or sent, 4 replay/watch
// had nothing to evaluate (no EMF event, or no alarm matches a metric of the
// log: diagnose.hpp, exit_no_match). Every command
// answers --help (and -h) with its usage on `out` and exit code 0.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fitwatch::cli {

/// `fitwatch emit`: losses on stdin -> the detector -> EMF lines on stdout.
int emit_command(const std::vector<std::string>& args, std::istream& in, std::ostream& err);

/// `fitwatch validate [LOG...]`: every line checked as CloudWatch Logs would.
int validate_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err);

/// `fitwatch schema [NAMESPACE]`: the metrics the library emits, as JSON.
int schema_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// `fitwatch replay --template FILE [options] [LOG...]`: the template's
/// alarms evaluated on a recorded log; transitions on `out`.
int replay_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err);

/// `fitwatch watch --template FILE [options]`: the same on a live log from
/// `in`, passed through to `out`; transitions on `err` as they happen.
int watch_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                  std::ostream& err);

}  // namespace fitwatch::cli
