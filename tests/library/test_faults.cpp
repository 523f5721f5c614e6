// Fault injection (ctest label "fault"): the library in a child process,
// against a stalled reader, SIGTERM, SIGKILL, another writer on the same
// pipe and a closed stdout. Every child runs under a deadline: a regression
// that hangs fails the test (the child is killed) instead of the suite.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "helpers/subprocess.hpp"
#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#ifndef FITWATCH_FAULT_CHILD
#error "FITWATCH_FAULT_CHILD must name the helper binary"
#endif

using namespace std::chrono_literals;
using fitwatch::test::spawn;
using fitwatch::test::wait_for;

namespace {

struct pipe_fds {
  pipe_fds() { REQUIRE(::pipe2(fd, O_CLOEXEC) == 0); }
  ~pipe_fds() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fd[0] >= 0) ::close(fd[0]);
    fd[0] = -1;
  }
  void close_write() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
  int fd[2];
};

// Reads until EOF; with `pause`, sleeps after each read of at most `chunk`
// bytes, so that the pipe stays full and writers block mid-way.
std::string read_all(int fd, std::size_t chunk = 65536, std::chrono::microseconds pause = 0us) {
  std::string out;
  std::vector<char> buf(chunk);
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  return out;
}

int devnull() {
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  return fd;
}

// Every line of `text` parses as an EMF event of at most PIPE_BUF bytes.
std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> events;
  for (const auto& line : fitwatch::test::lines_of(text)) {
    CHECK(line.size() <= 4096);
    events.push_back(fitwatch::test::parse_emf(line));
  }
  return events;
}

}  // namespace

TEST_CASE("stdout and stderr on one pipe nobody reads: put/flush and exit finish in time") {
  // `prog > log 2>&1` into a stalled consumer: metric lines fill the pipe,
  // the queue overflows, and every evaluation also reports a NaN. The
  // training loop must not block on the diagnostics (it did: the report was
  // written to stderr on the training thread, at most once a second, so the
  // loop runs 3 s).
  pipe_fds p;
  const pid_t pid = spawn({FITWATCH_FAULT_CHILD, "stall", "3000"}, p.fd[1], p.fd[1]);
  REQUIRE(pid > 0);
  p.close_write();  // p.fd[0] stays open and is never read
  const auto status = wait_for(pid, 20s);
  REQUIRE_MESSAGE(status.has_value(), "the child hung on its stalled stdout/stderr");
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);  // 3: a flush() took over 500 ms
}

TEST_CASE("SIGTERM while stdout and stderr are stalled: the program's own SIGTERM action runs") {
  pipe_fds p;
  const pid_t pid = spawn({FITWATCH_FAULT_CHILD, "sigterm"}, p.fd[1], p.fd[1]);
  REQUIRE(pid > 0);
  p.close_write();
  // The pipe fills in well under a second; within a few reports (they come
  // at most once a second) stderr is full too.
  std::this_thread::sleep_for(4s);
  ::kill(pid, SIGTERM);
  // The drain gives up after sigterm_timeout (300 ms), the data-loss warning
  // gets 1 s to reach stderr, then the program's handler exits with 42.
  const auto status = wait_for(pid, 15s);
  REQUIRE_MESSAGE(status.has_value(), "SIGTERM never completed");
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 42);
}

TEST_CASE("the SIGTERM data-loss warning gets past the rate limiter") {
  // stdout stalled, stderr read: the queue-full report comes every second,
  // so a rate-limited SIGTERM warning would always be suppressed.
  pipe_fds out;
  pipe_fds err;
  const pid_t pid = spawn({FITWATCH_FAULT_CHILD, "sigterm"}, out.fd[1], err.fd[1]);
  REQUIRE(pid > 0);
  out.close_write();
  err.close_write();
  std::string diagnostics;
  std::thread reader([&] { diagnostics = read_all(err.fd[0]); });
  std::this_thread::sleep_for(1500ms);
  ::kill(pid, SIGTERM);
  const auto status = wait_for(pid, 15s);
  reader.join();  // EOF: the child is gone
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 42);
  CHECK(diagnostics.find("SIGTERM: queued metric lines not written in time") != std::string::npos);
}

TEST_CASE("two processes on one pipe with events over PIPE_BUF: no line is torn, no value lost") {
  // Each evaluation is about 8 KB of EMF; the logger splits it into lines of
  // at most 4096 bytes, each written with one write(2), which a pipe keeps
  // whole. A slow reader keeps the pipe full so that writers block mid-way.
  constexpr int evaluations = 200;
  pipe_fds p;
  const int null = devnull();
  const pid_t a =
      spawn({FITWATCH_FAULT_CHILD, "big", std::to_string(evaluations), "A"}, p.fd[1], null);
  const pid_t b =
      spawn({FITWATCH_FAULT_CHILD, "big", std::to_string(evaluations), "B"}, p.fd[1], null);
  ::close(null);
  REQUIRE(a > 0);
  REQUIRE(b > 0);
  p.close_write();
  const std::string text = read_all(p.fd[0], 3000, 100us);
  const auto status_a = wait_for(a, 60s);
  const auto status_b = wait_for(b, 60s);
  REQUIRE(status_a.has_value());
  REQUIRE(status_b.has_value());
  CHECK(*status_a == 0);
  CHECK(*status_b == 0);

  std::map<std::pair<std::string, std::int64_t>, std::size_t> metrics_per_evaluation;
  const auto events = parse_lines(text);
  for (const auto& e : events) {
    metrics_per_evaluation[{e["Writer"].get<std::string>(), e["Step"].get<std::int64_t>()}] +=
        e["_aws"]["CloudWatchMetrics"][0]["Metrics"].size();
  }
  CHECK(events.size() > 2 * evaluations);  // evaluations were split
  CHECK(metrics_per_evaluation.size() == 2 * evaluations);
  for (const auto& [key, metrics] : metrics_per_evaluation) {
    INFO(key.first << " step " << key.second);
    CHECK(metrics == 60);
  }
}

TEST_CASE("SIGKILL with a slow reader leaves no partial last line") {
  pipe_fds p;
  const int null = devnull();
  const pid_t pid = spawn({FITWATCH_FAULT_CHILD, "big", "1000000", "K"}, p.fd[1], null);
  ::close(null);
  REQUIRE(pid > 0);
  p.close_write();
  std::string text;
  char buf[1000];
  const auto stop = std::chrono::steady_clock::now() + 500ms;
  while (std::chrono::steady_clock::now() < stop) {  // slow: the writer blocks in write(2)
    const ssize_t n = ::read(p.fd[0], buf, sizeof buf);
    REQUIRE(n > 0);
    text.append(buf, static_cast<std::size_t>(n));
    std::this_thread::sleep_for(200us);
  }
  ::kill(pid, SIGKILL);
  const auto status = wait_for(pid, 10s);
  REQUIRE(status.has_value());
  CHECK(WIFSIGNALED(*status));
  text += read_all(p.fd[0]);  // what was in the pipe when the writer died
  REQUIRE_FALSE(text.empty());
  CHECK(text.back() == '\n');
  CHECK_FALSE(parse_lines(text).empty());
}

TEST_CASE("stdout closed at start: a file that later takes fd 1 gets no metric line") {
  const fitwatch::test::temp_dir dir;
  const std::string file = dir.file("opened-later.txt");
  pipe_fds err;
  const pid_t pid = spawn({FITWATCH_FAULT_CHILD, "closed-stdout", file}, -1, err.fd[1]);
  REQUIRE(pid > 0);
  err.close_write();
  const std::string diagnostics = read_all(err.fd[0]);
  const auto status = wait_for(pid, 20s);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);  // 4: the file did not take fd 1
  CHECK(fitwatch::test::slurp(file).empty());
  CHECK(diagnostics.find("stdout (fd 1) was closed when the program started") != std::string::npos);
}
