// `fitwatch watch`: the template's alarms evaluated on a live EMF log from
// stdin; every line passes through to stdout unchanged, transitions go to
// stderr as they happen (and, with --smtp, the emails to a real server).
#include <istream>
#include <ostream>

#include "commands.hpp"
#include "session.hpp"

namespace fitwatch::tools {

int watch_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                  std::ostream& err) {
  return run_alarms(args, alarm_command::watch, out, err,
                    [&](const alarm_options&, const line_fn& line) {
                      std::string text;
                      std::size_t number = 0;
                      while (std::getline(in, text)) {
                        out << text << '\n';
                        out.flush();
                        if (!text.empty() && text.back() == '\r') text.pop_back();
                        line(text, "<stdin>", ++number);
                      }
                      return 0;
                    });
}

}  // namespace fitwatch::tools
