// `fitwatch schema [NAMESPACE] [--monitor NAME] [--mode min|max]`: the
// metrics the library emits, as JSON (the one source of truth the
// templates' alarms are checked against).
#include <ostream>

#include "commands.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/monitor.hpp"
#include "fitwatch/settings.hpp"

namespace fitwatch::tools {
namespace {

constexpr const char* schema_usage =
    R"(usage: fitwatch schema [NAMESPACE] [--monitor NAME] [--mode min|max]

Prints, as JSON, the metrics fitwatch emits (names, units, storage
resolution), their dimension set and properties, in NAMESPACE (FitWatch):
what the alarms of a template must watch. --monitor and --mode are the
settings monitor and mode (docs/settings.md): a monitored metric other than
ValidationLoss is written under its own name and its best under Best<NAME>;
the other metrics keep their names ("Monitor" in the output says so).
)";

}  // namespace

int schema_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  settings s;
  std::string namespace_name(default_namespace);
  bool has_namespace = false;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "--help" || a == "-h") {
        out << schema_usage;
        return 0;
      }
      if (a == "--monitor" || a == "--mode") {
        if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
        apply_setting(s, a.substr(2), args[++i], a);
      } else if (!a.empty() && a[0] == '-') {
        throw std::invalid_argument("unknown option " + a);
      } else if (has_namespace) {
        throw std::invalid_argument("one NAMESPACE at most");
      } else {
        namespace_name = a;
        has_namespace = true;
      }
    }
    out << schema_json(namespace_name, s.detector) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.rfind("fitwatch: ", 0) == 0) what.erase(0, 10);
    err << "fitwatch schema: " << what << "\n" << schema_usage;
    return 2;
  }
}

}  // namespace fitwatch::tools
