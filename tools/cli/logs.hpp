// Reading logs, as validate and replay do: every line of the files named
// (stdin if none), without its newline or a trailing '\r'. A file that
// cannot be opened or read, a directory among them, is an error.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace fitwatch::tools {

/// Gives one log line: (text, file name or "<stdin>", line number from 1).
using line_fn = std::function<void(const std::string&, const std::string&, std::size_t)>;

/// Calls `line` for every line of `files`, or of `in` if there is none.
/// Returns 0, or 2 after a message "<command>: cannot read <file>: <why>"
/// on `err` for a file that cannot be opened or read (the files before it
/// have been read).
int read_logs(const std::vector<std::string>& files, std::istream& in, const char* command,
              std::ostream& err, const line_fn& line);

}  // namespace fitwatch::tools
