// `fitwatch watch`: the template's alarms evaluated on a live EMF log from
// stdin; every line passes through to stdout unchanged, transitions go to
// stderr as they happen (and, with --smtp, the emails to a real server).
#include <istream>
#include <ostream>

#include "commands.hpp"
#include "logs.hpp"
#include "session.hpp"

namespace fitwatch::cli {

int watch_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                  std::ostream& err) {
  return run_alarms(
      args, alarm_command::watch, out, err, [&](const alarm_options&, const line_fn& line) {
        // Every line passes through unchanged (a byte order mark, a line too
        // long to evaluate, too); only the evaluated text loses them.
        line_reader reader(in);
        const auto spill = [&](std::string_view bytes) { out << bytes; };
        std::string text;
        for (;;) {
          const auto s = reader.next(text, spill);
          if (s == line_reader::status::end) return 0;
          if (s == line_reader::status::failed) {
            err << "fitwatch watch: cannot read <stdin>: " << reader.error() << "\n";
            return 2;
          }
          if (s == line_reader::status::line) {
            if (reader.number() == 1 && reader.had_bom()) out << utf8_bom;
            out << text;
          }
          out << '\n';
          out.flush();
          if (s == line_reader::status::too_long) {
            err << "fitwatch watch: <stdin>:" << reader.number() << ": line longer than "
                << max_line_bytes << " bytes, passed through, not evaluated\n";
            continue;
          }
          if (!text.empty() && text.back() == '\r') text.pop_back();
          line(text, "<stdin>", reader.number());
        }
      });
}

}  // namespace fitwatch::cli
