// `fitwatch emit`: losses on stdin -> the detector -> EMF lines on stdout.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fitwatch::tools {

/// Runs `fitwatch emit` with its arguments; returns the exit code (0 all
/// lines good, 1 some input line bad, 2 usage error).
int emit_command(const std::vector<std::string>& args, std::istream& in, std::ostream& err);

}  // namespace fitwatch::tools
