// The fitwatch command: picks the command and runs it. Each command turns
// its errors into a message and an exit code; the last catch here makes
// sure no exception ever escapes main.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

constexpr const char* usage = R"(usage: fitwatch <command> [options]

commands:
  emit [options]      losses on stdin -> overfitting detector -> EMF lines on
                      stdout (fitwatch emit --help)
  validate [LOG...]   check every line of EMF logs (stdin if no file) as
                      CloudWatch Logs would; exit 1 if any EMF line is invalid
                      (every command: --help for its usage)
  schema [NAMESPACE]  the metrics fitwatch emits, as JSON; with --template FILE,
                      what one stack of the template holds that AWS bills
  replay --template FILE [options] [LOG...]
                      evaluate the template's alarms on a recorded EMF log with
                      CloudWatch's rules; render the team's emails
  watch --template FILE [options]
                      the same on a live log from stdin, passed through to
                      stdout (fitwatch replay --help for the options)
  help                this text
)";

int run(const std::vector<std::string>& args) {
  namespace cli = fitwatch::cli;
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << usage;
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "validate") return cli::validate_command(rest, std::cin, std::cout, std::cerr);
  if (args[0] == "emit") return cli::emit_command(rest, std::cin, std::cerr);
  if (args[0] == "replay") return cli::replay_command(rest, std::cin, std::cout, std::cerr);
  if (args[0] == "watch") return cli::watch_command(rest, std::cin, std::cout, std::cerr);
  if (args[0] == "schema") return cli::schema_command(rest, std::cout, std::cerr);
  std::cerr << "fitwatch: unknown command '" << args[0] << "'\n" << usage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "fitwatch: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "fitwatch: unknown error\n";
  }
  return 2;
}
