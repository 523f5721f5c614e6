// Sinks: whole lines, EPIPE survival, the bounded queue and its policies.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "fitwatch/sink.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

std::string line(int i) {
  return "line " + std::to_string(i) + "\n";
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("fd_sink writes each line whole") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  {
    fitwatch::fd_sink s{fds[1]};
    s.write("a\n");
    s.write("bb\n");
    CHECK(s.failed() == 0);
  }
  ::close(fds[1]);
  CHECK(read_all(fds[0]) == "a\nbb\n");
  ::close(fds[0]);
}

TEST_CASE("a closed reader (EPIPE) neither kills nor blocks the process") {
  fitwatch::test::capture_reports reports;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);  // nobody will ever read: write(2) raises SIGPIPE
  fitwatch::fd_sink s{fds[1]};
  for (int i = 0; i < 5; ++i) s.write(line(i));  // would kill the test without the guard
  CHECK(s.failed() == 5);
  const auto messages = reports.all();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].find("Broken pipe") != std::string::npos);
  ::close(fds[1]);
}

namespace {
bool sigpipe_blocked() {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}
bool sigpipe_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}
}  // namespace

TEST_CASE("the SIGPIPE guard leaves the thread's signal mask and pending set as it found them") {
  fitwatch::test::capture_reports reports;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  SUBCASE("SIGPIPE not blocked: the signal the write raised is consumed") {
    REQUIRE_FALSE(sigpipe_blocked());
    fitwatch::fd_sink s{fds[1]};
    s.write(line(0));
    CHECK(s.failed() == 1);
    CHECK_FALSE(sigpipe_blocked());
    CHECK_FALSE(sigpipe_pending());
  }
  SUBCASE("SIGPIPE blocked by the program, one already pending: it stays pending") {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t old_mask;
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
    pthread_kill(pthread_self(), SIGPIPE);
    REQUIRE(sigpipe_pending());
    fitwatch::fd_sink s{fds[1]};
    s.write(line(0));
    CHECK(s.failed() == 1);
    CHECK(sigpipe_blocked());
    CHECK(sigpipe_pending());  // the program's, not consumed by the sink
    const timespec zero{0, 0};
    sigtimedwait(&pipe_only, nullptr, &zero);
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  }
  ::close(fds[1]);
}

TEST_CASE("file_sink appends, and a bad path fails at set-up") {
  const fitwatch::test::temp_dir dir;
  const std::string path = dir.file("file_sink.log");
  {
    fitwatch::file_sink s{path};
    s.write("one\n");
  }
  {
    fitwatch::file_sink s{path};
    s.write("two\n");
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "one\ntwo\n");
  CHECK_THROWS_WITH_AS(
      fitwatch::file_sink{"/nonexistent-dir/x.log"},
      doctest::Contains("fitwatch: cannot open file sink \"/nonexistent-dir/x.log\""),
      fitwatch::error);
}

TEST_CASE("ostream_sink") {
  std::ostringstream out;
  fitwatch::ostream_sink s{out};
  s.write("x\n");
  CHECK(s.flush(0ms));
  CHECK(out.str() == "x\n");
}
