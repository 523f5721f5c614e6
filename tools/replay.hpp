// `fitwatch replay` and `fitwatch watch`: the templates' alarms evaluated on
// a recorded or live EMF log, with the team's emails rendered.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fitwatch::tools {

/// `fitwatch replay ...` (live = false) or `fitwatch watch ...` (live =
/// true: stdin passed through to `out`, transitions on `err` as they
/// happen). Returns the exit code.
int replay_command(const std::vector<std::string>& args, bool live, std::istream& in,
                   std::ostream& out, std::ostream& err);

}  // namespace fitwatch::tools
