// `fitwatch replay`: the template's alarms evaluated on recorded EMF logs
// (files, or stdin if none).
#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>

#include "commands.hpp"
#include "session.hpp"

namespace fitwatch::tools {

int replay_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  return run_alarms(args, false, out, err, [&](const alarms_options& o, const line_fn& line) {
    std::string text;
    const auto read = [&](std::istream& from, const std::string& name) {
      std::size_t number = 0;
      while (std::getline(from, text)) {
        if (!text.empty() && text.back() == '\r') text.pop_back();
        line(text, name, ++number);
      }
    };
    if (o.logs.empty()) {
      read(in, "<stdin>");
      return 0;
    }
    for (const auto& path : o.logs) {
      std::ifstream f(path, std::ios::binary);
      if (!f) {
        err << "fitwatch replay: cannot open " << path << ": " << std::strerror(errno) << "\n";
        return 2;
      }
      read(f, path);
    }
    return 0;
  });
}

}  // namespace fitwatch::tools
