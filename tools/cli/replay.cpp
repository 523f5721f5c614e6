// `fitwatch replay`: the template's alarms evaluated on recorded EMF logs
// (files, or stdin if none).
#include <istream>
#include <ostream>

#include "commands.hpp"
#include "logs.hpp"
#include "session.hpp"

namespace fitwatch::cli {

int replay_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  return run_alarms(args, alarm_command::replay, out, err,
                    [&](const alarm_options& o, const line_fn& line) {
                      return read_logs(o.logs, in, "fitwatch replay", err, line);
                    });
}

}  // namespace fitwatch::cli
