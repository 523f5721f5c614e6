// `fitwatch validate [LOG...]`: every line of EMF logs (stdin if no file)
// checked as CloudWatch Logs would; exit 1 if any EMF line is invalid.
#include <istream>
#include <ostream>

#include "commands.hpp"
#include "emf/inspect.hpp"
#include "logs.hpp"

namespace fitwatch::cli {
namespace {

constexpr const char* validate_usage = R"(usage: fitwatch validate [LOG...]

Checks every line of EMF logs (stdin if no LOG) as CloudWatch Logs reads
them: a JSON object with an "_aws" member is an EMF event and must follow
the EMF specification; any other line is a plain log line. Each invalid
event is reported on stderr with its file and line number, and so is a line
longer than 1 MB (CloudWatch Logs' largest event). A UTF-8 byte order mark
at the start of a LOG is ignored. Exit 0 if every EMF event is valid, 1 if
one is not, 2 if a LOG cannot be read.
)";

}  // namespace

int validate_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      out << validate_usage;
      return 0;
    }
    if (a.size() > 1 && a[0] == '-') {
      err << "fitwatch validate: unknown option " << a << "\n" << validate_usage;
      return 2;
    }
  }
  std::size_t lines = 0, events = 0, invalid = 0, metrics = 0, datapoints = 0;
  const int rc = read_logs(
      args, in, "fitwatch validate", err,
      [&](const std::string& line, const std::string& name, std::size_t number) {
        ++lines;
        const auto r = emf::validate_line(line);
        if (r.kind == emf::line_kind::plain) return;
        ++events;
        if (r.kind == emf::line_kind::invalid) {
          ++invalid;
          for (const auto& e : r.errors)
            err << name << ":" << number << ": invalid EMF: " << e << "\n";
          return;
        }
        metrics += r.metrics;
        datapoints += r.datapoints;
      },
      [&](const std::string& name, std::size_t number) {
        ++lines;
        ++invalid;
        err << name << ":" << number << ": line longer than " << max_line_bytes
            << " bytes, more than CloudWatch Logs takes as one event\n";
      });
  if (rc != 0) return rc;
  out << lines << " lines, " << events << " EMF events, " << metrics << " metrics (" << datapoints
      << " datapoints) extracted, " << invalid << " invalid\n";
  return invalid == 0 ? 0 : 1;
}

}  // namespace fitwatch::cli
