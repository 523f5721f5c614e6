// Helpers of the diagnostics tests (test_diagnostics.cpp and
// test_diagnostics_spdlog.cpp): a gate that holds the delivering thread, a
// pipe read with a deadline, and a forked child with a deadline.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "helpers/subprocess.hpp"

namespace fitwatch::test {

// Holds whoever calls pass() until opened (the reader of stderr stalls),
// and records what passed.
class delivery_gate {
 public:
  void pass(std::string text) {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    delivered_.push_back(std::move(text));
    changed_.notify_all();
  }
  void close() {
    const std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  void open() {
    const std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits until `n` callers have entered pass() (false after 10 s).
  bool wait_entered(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return entered_ >= n; });
  }
  // Waits until `n` texts have passed (false after 10 s).
  bool wait_delivered(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return delivered_.size() >= n; });
  }
  std::vector<std::string> delivered() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return delivered_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  std::size_t entered_ = 0;
  std::vector<std::string> delivered_;
};

struct test_pipe {
  test_pipe() { REQUIRE(::pipe2(fd, O_CLOEXEC) == 0); }
  ~test_pipe() {
    for (const int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  test_pipe(const test_pipe&) = delete;
  test_pipe& operator=(const test_pipe&) = delete;
  void close_write() {
    ::close(fd[1]);
    fd[1] = -1;
  }
  // Reads until `wanted` appears in what was read, EOF, or the timeout.
  std::string read_until(std::string_view wanted, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (read_text.find(wanted) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = ::read(fd[0], buf, sizeof buf);
      if (n == 0) break;
      if (n > 0) read_text.append(buf, static_cast<std::size_t>(n));
    }
    return read_text;
  }
  // Fills the pipe to the last byte: the next write(2) to it blocks.
  void fill() {
    const int flags = ::fcntl(fd[1], F_GETFL);
    ::fcntl(fd[1], F_SETFL, flags | O_NONBLOCK);
    const std::string filler(4096, 'x');
    while (::write(fd[1], filler.data(), filler.size()) > 0) {
    }
    while (::write(fd[1], filler.data(), 1) > 0) {
    }
    ::fcntl(fd[1], F_SETFL, flags);
  }
  int fd[2];
  std::string read_text;
};

// One line with one write(2); what a sink or an error handler does.
inline void write_line(int fd, std::string_view text) {
  std::string line(text);
  line += '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Runs `body` in a forked child that then ends with _exit(status returned);
// the child's wait status, or nothing if it had not ended after `timeout`
// (it is then killed).
template <class Body>
std::optional<int> run_child(Body body, std::chrono::milliseconds timeout) {
  std::fflush(nullptr);  // a child that calls exit() would write the parent's buffers again
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(body());
  return wait_for(pid, timeout);
}

}  // namespace fitwatch::test
