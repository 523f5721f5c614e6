// `fitwatch validate [LOG...]`: every line of EMF logs (stdin if no file)
// checked as CloudWatch Logs would; exit 1 if any EMF line is invalid.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>

#include "commands.hpp"
#include "emf/validate.hpp"

namespace fitwatch::tools {

int validate_command(const std::vector<std::string>& files, std::istream& in, std::ostream& out,
                     std::ostream& err) {
  std::size_t lines = 0, events = 0, invalid = 0, metrics = 0, datapoints = 0;
  const auto run = [&](std::istream& from, const std::string& name) {
    std::string line;
    std::size_t number = 0;
    while (std::getline(from, line)) {
      ++number;
      ++lines;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto r = validate_line(line);
      if (r.kind == line_kind::plain) continue;
      ++events;
      if (r.kind == line_kind::invalid) {
        ++invalid;
        for (const auto& e : r.errors)
          err << name << ":" << number << ": invalid EMF: " << e << "\n";
        continue;
      }
      metrics += r.metrics;
      datapoints += r.datapoints;
    }
  };
  if (files.empty()) {
    run(in, "<stdin>");
  } else {
    for (const auto& f : files) {
      std::ifstream file(f, std::ios::binary);
      if (!file) {
        err << "fitwatch validate: cannot open " << f << ": " << std::strerror(errno) << "\n";
        return 2;
      }
      run(file, f);
    }
  }
  out << lines << " lines, " << events << " EMF events, " << metrics << " metrics (" << datapoints
      << " datapoints) extracted, " << invalid << " invalid\n";
  return invalid == 0 ? 0 : 1;
}

}  // namespace fitwatch::tools
