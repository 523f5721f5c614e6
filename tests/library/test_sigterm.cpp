// SIGTERM (SageMaker's StopTrainingJob) must not lose queued lines.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "support.hpp"

#ifndef FITWATCH_SIGTERM_CHILD
#error "FITWATCH_SIGTERM_CHILD must name the helper binary"
#endif

TEST_CASE("every queued line is written when SIGTERM arrives, then the process ends by it") {
  int out[2];
  REQUIRE(::pipe(out) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(FITWATCH_SIGTERM_CHILD, FITWATCH_SIGTERM_CHILD, "300", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);  // the program's own SIGTERM action still happens

  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    const auto e = fitwatch::test::parse_emf(line + "\n");
    CHECK(e["Step"] == count);
    ++count;
  }
  CHECK(count == 300);
}
