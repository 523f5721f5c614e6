// `fitwatch schema [NAMESPACE]`: the metrics the library emits, as JSON
// (the one source of truth the templates' alarms are checked against).
#include <ostream>

#include "commands.hpp"
#include "fitwatch/monitor.hpp"

namespace fitwatch::tools {
namespace {

constexpr const char* schema_usage = R"(usage: fitwatch schema [NAMESPACE]

Prints, as JSON, the metrics fitwatch emits (names, units, storage
resolution), their dimension set and properties, in NAMESPACE (FitWatch):
what the alarms of a template must watch.
)";

}  // namespace

int schema_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    out << schema_usage;
    return 0;
  }
  if (args.size() > 1 || (!args.empty() && !args[0].empty() && args[0][0] == '-')) {
    err << "fitwatch schema: "
        << (args.size() > 1 ? "one NAMESPACE at most" : "unknown option " + args[0]) << "\n"
        << schema_usage;
    return 2;
  }
  out << schema_json(args.empty() ? default_namespace : std::string_view(args[0])) << "\n";
  return 0;
}

}  // namespace fitwatch::tools
