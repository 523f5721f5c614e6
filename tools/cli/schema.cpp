// `fitwatch schema [NAMESPACE]`: the metrics the library emits, as JSON
// (the one source of truth the templates' alarms are checked against).
#include <ostream>

#include "commands.hpp"
#include "fitwatch/monitor.hpp"

namespace fitwatch::tools {

int schema_command(const std::vector<std::string>& args, std::ostream& out) {
  out << schema_json(args.empty() ? default_namespace : std::string_view(args[0])) << "\n";
  return 0;
}

}  // namespace fitwatch::tools
