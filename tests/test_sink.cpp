// Sinks: whole lines, EPIPE survival, the bounded queue and its policies.
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "fitwatch/sink.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using fitwatch::async_sink;
using fitwatch::overflow_policy;

namespace {

// A sink that blocks every write until opened: a stalled reader of stdout.
class gate_sink : public fitwatch::sink {
 public:
  void write(std::string_view line) noexcept override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    lines_.emplace_back(line);
  }
  void open() {
    const std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void wait_entered(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<std::string> lines() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int entered_ = 0;
  std::vector<std::string> lines_;
};

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

TEST_CASE("file_sink appends, and a bad path fails at set-up") {
  const std::string path = "fitwatch_test_file_sink.log";
  std::remove(path.c_str());
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
  std::remove(path.c_str());
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

TEST_CASE("async_sink delivers every line in order when there is room") {
  auto inner = std::make_shared<fitwatch::test::capture_sink>();
  {
    async_sink s{inner};
    for (int i = 0; i < 1000; ++i) s.write(line(i));
    CHECK(s.flush(5s));
    CHECK(s.written() == 1000);
    CHECK(s.dropped() == 0);
  }
  const auto lines = inner->snapshot();
  REQUIRE(lines.size() == 1000);
  for (int i = 0; i < 1000; ++i) CHECK(lines[i] == line(i));
}

TEST_CASE("async_sink overflow with a stalled consumer") {
  fitwatch::test::capture_reports reports;
  auto gate = std::make_shared<gate_sink>();
  async_sink::options opts;
  opts.capacity = 4;
  std::vector<std::string> expected;

  SUBCASE("drop_oldest keeps the newest lines") {
    opts.policy = overflow_policy::drop_oldest;
    // line 0 is in the writer's hands; 1..10 compete for 4 places.
    expected = {line(0), line(7), line(8), line(9), line(10)};
  }
  SUBCASE("drop_newest keeps the oldest lines") {
    opts.policy = overflow_policy::drop_newest;
    expected = {line(0), line(1), line(2), line(3), line(4)};
  }
  async_sink s{gate, opts};
  s.write(line(0));
  gate->wait_entered(1);                           // the writer is now stuck on line 0
  for (int i = 1; i <= 10; ++i) s.write(line(i));  // returns at once: the thread is not blocked
  CHECK(s.dropped() == 6);
  CHECK_FALSE(s.flush(50ms));  // stalled: flush gives up at its bound
  gate->open();
  CHECK(s.flush(5s));
  CHECK(gate->lines() == expected);
  CHECK(s.written() == 5);
  const auto messages = reports.all();
  REQUIRE_FALSE(messages.empty());
  CHECK(messages[0].find("metric queue full") != std::string::npos);
}

TEST_CASE("async_sink with the block policy loses nothing") {
  auto gate = std::make_shared<gate_sink>();
  async_sink::options opts;
  opts.capacity = 2;
  opts.policy = overflow_policy::block;
  async_sink s{gate, opts};
  std::thread producer([&] {
    for (int i = 0; i < 20; ++i) s.write(line(i));
  });
  gate->wait_entered(1);
  gate->open();
  producer.join();
  CHECK(s.flush(5s));
  const auto lines = gate->lines();
  REQUIRE(lines.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK(lines[i] == line(i));
  CHECK(s.dropped() == 0);
}

TEST_CASE("a full pipe nobody reads never blocks the writer of lines, nor shutdown") {
  fitwatch::test::capture_reports reports;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string big(1000, 'x');
  {
    async_sink::options opts;
    opts.capacity = 16;
    opts.shutdown_timeout = 200ms;
    async_sink s{std::make_shared<fitwatch::fd_sink>(fds[1]), opts};
    for (int i = 0; i < 2000; ++i) s.write(big + "\n");  // ~2 MB into a 64 KB pipe
    CHECK(s.dropped() > 0);
  }                 // the destructor returns after its bound although the writer is stuck
  ::close(fds[0]);  // now the stuck write fails with EPIPE and the writer ends
  // fds[1] stays open: the detached writer may still be returning from its
  // write, and closing it under that thread would race.
  bool lost_reported = false;
  for (const auto& m : reports.all()) lost_reported |= m.find("queue full") != std::string::npos;
  CHECK(lost_reported);
}
