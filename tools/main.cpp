// The fitwatch command.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "emf_validate.hpp"
#include "emit.hpp"
#include "fitwatch/monitor.hpp"
#include "replay.hpp"

namespace {

constexpr const char* usage = R"(usage: fitwatch <command> [options]

commands:
  emit [options]      losses on stdin -> overfitting detector -> EMF lines on
                      stdout (fitwatch emit --help)
  validate [LOG...]   check every line of EMF logs (stdin if no file) as
                      CloudWatch Logs would; exit 1 if any EMF line is invalid
  schema [NAMESPACE]  the metrics fitwatch emits, as JSON
  replay --template FILE [options] [LOG...]
                      evaluate the template's alarms on a recorded EMF log with
                      CloudWatch's rules; render the team's emails
  watch --template FILE [options]
                      the same on a live log from stdin, passed through to
                      stdout (fitwatch replay --help for the options)
  help                this text
)";

int validate(const std::vector<std::string>& files) {
  using fitwatch::tools::line_kind;
  std::size_t lines = 0, events = 0, invalid = 0, metrics = 0, datapoints = 0;
  const auto run = [&](std::istream& in, const std::string& name) {
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      ++lines;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto r = fitwatch::tools::validate_line(line);
      if (r.kind == line_kind::plain) continue;
      ++events;
      if (r.kind == line_kind::invalid) {
        ++invalid;
        for (const auto& e : r.errors) {
          std::fprintf(stderr, "%s:%zu: invalid EMF: %s\n", name.c_str(), number, e.c_str());
        }
        continue;
      }
      metrics += r.metrics;
      datapoints += r.datapoints;
    }
  };
  if (files.empty()) {
    run(std::cin, "<stdin>");
  } else {
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "fitwatch validate: cannot open %s: %s\n", f.c_str(),
                     std::strerror(errno));
        return 2;
      }
      run(in, f);
    }
  }
  std::printf("%zu lines, %zu EMF events, %zu metrics (%zu datapoints) extracted, %zu invalid\n",
              lines, events, metrics, datapoints, invalid);
  return invalid == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "validate") return validate(rest);
  if (args[0] == "emit") return fitwatch::tools::emit_command(rest, std::cin, std::cerr);
  if (args[0] == "replay")
    return fitwatch::tools::replay_command(rest, false, std::cin, std::cout, std::cerr);
  if (args[0] == "watch")
    return fitwatch::tools::replay_command(rest, true, std::cin, std::cout, std::cerr);
  if (args[0] == "schema") {
    std::printf("%s\n", fitwatch::schema_json(rest.empty() ? fitwatch::default_namespace
                                                           : std::string_view(rest[0]))
                            .c_str());
    return 0;
  }
  std::fprintf(stderr, "fitwatch: unknown command '%s'\n%s", args[0].c_str(), usage);
  return 2;
}
