// Test helper: start a child process with chosen stdout and stderr, and wait
// for it with a deadline, so that a regression that hangs fails the test
// instead of hanging the suite.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fitwatch::test {

/// Forks and execs `argv`; the child's stdout and stderr become `out` and
/// `err` (-1: closed). Every other descriptor the test opened should be
/// O_CLOEXEC, so the child holds no pipe end it was not given.
inline pid_t spawn(const std::vector<std::string>& argv, int out, int err) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (out >= 0) {
    ::dup2(out, STDOUT_FILENO);
  } else {
    ::close(STDOUT_FILENO);
  }
  if (err >= 0) {
    ::dup2(err, STDERR_FILENO);
  } else {
    ::close(STDERR_FILENO);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

/// The child's wait status, or nothing if it did not end within `timeout`
/// (it is then killed with SIGKILL and reaped).
inline std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return std::nullopt;
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return std::nullopt;
}

}  // namespace fitwatch::test
