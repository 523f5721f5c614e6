// Child process for the SIGTERM test: queues N lines behind a deliberately
// slow stdout writer, then receives SIGTERM (as StopTrainingJob sends it).
// Every queued line must still reach stdout before the process dies.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "fitwatch/logger.hpp"

namespace {
class slow_stdout : public fitwatch::fd_sink {
 public:
  slow_stdout() : fd_sink(STDOUT_FILENO) {}
  void write(std::string_view line) noexcept override {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    fd_sink::write(line);
  }
};
}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 300;
  fitwatch::logger_options options;
  options.job_name = "sigterm-test";
  options.output = std::make_shared<slow_stdout>();
  auto* log = new fitwatch::logger(options);  // never destroyed: SIGTERM ends the process
  const auto m = log->metric("Step");
  for (int i = 0; i < n; ++i) {
    log->put(m, i);
    log->flush();
  }
  std::fprintf(stderr, "queued %d\n", n);
  ::kill(::getpid(), SIGTERM);
  for (;;) ::pause();
}
