// SIGTERM handling. The handler only writes a byte to a pipe (that is all a
// signal handler may safely do); a watcher thread wakes up, flushes every
// registered sink within its bound, puts back the program's previous SIGTERM
// action and raises SIGTERM again, so the program ends (or handles it) as it
// would have without fitwatch. SageMaker's StopTrainingJob sends SIGTERM and
// allows 120 s before SIGKILL. The watcher takes no lock a blocked training
// thread may hold: diagnostics are queued (diagnostics.cpp), never written
// here, so the previous action runs within the drain timeouts plus 1 s.
//
// Forks (fork.hpp): a child has no watcher thread and must never wake the
// parent's. Its fork handler puts back the previous action and closes the
// child's copy of the wake pipe; the signal handler also checks the pid (a
// child made without the fork handlers, by a raw clone, still takes the
// previous action). A logger created in the child installs the handler and a
// watcher of its own.
#include "sigterm.hpp"
#include "threads.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "diagnostics.hpp"
#include "fork.hpp"

namespace fitwatch::detail {
namespace {

int wake_pipe[2] = {-1, -1};
// The process that installed the handler (0: none did); read by the handler.
volatile pid_t installed_by = 0;
// How long the watcher waits for its diagnostics before ending the process.
constexpr std::chrono::milliseconds report_wait{1000};
struct sigaction previous_action {};

struct registry {
  std::mutex mutex;
  struct entry {
    const void* owner;
    drain_function drain;
    std::chrono::milliseconds timeout;
  };
  std::vector<entry> entries;
};

registry& the_registry() {
  static auto* r = new registry;  // never destroyed: the watcher may outlive main
  return *r;
}

extern "C" void on_sigterm(int) {
  const int saved = errno;
  if (::getpid() != installed_by) {
    // A copy of the process the handler was installed for: its watcher is
    // not here. Take the previous action (SIGTERM is blocked while this
    // handler runs, so the raised signal arrives once it returns).
    sigaction(SIGTERM, &previous_action, nullptr);
    ::raise(SIGTERM);
    errno = saved;
    return;
  }
  const char byte = 1;
  [[maybe_unused]] const auto n = ::write(wake_pipe[1], &byte, 1);
  errno = saved;
}

void watch(int read_end) {
  char byte = 0;
  for (;;) {
    const ssize_t n = ::read(read_end, &byte, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    return;  // the pipe is gone: nothing to watch
  }
  {
    auto& r = the_registry();
    const std::lock_guard<std::mutex> lock(r.mutex);
    for (const auto& e : r.entries) {
      // Data is lost: this warning bypasses the rate limit. report() only
      // queues it, so a stalled stderr cannot hold up the SIGTERM action.
      if (!e.drain(e.timeout)) {
        report("fitwatch: SIGTERM: queued metric lines not written in time; they are lost",
               urgency::always);
      }
    }
  }
  flush_reports(report_wait);  // give the warning a bounded chance to reach stderr
  sigaction(SIGTERM, &previous_action, nullptr);
  ::kill(::getpid(), SIGTERM);
}

// Called with the registry's lock held.
void install() noexcept {
  watch_forks();
  if (::pipe2(wake_pipe, O_CLOEXEC) != 0) {
    report("fitwatch: cannot create the SIGTERM pipe; queued lines may be lost on SIGTERM");
    return;
  }
  try {
    std::thread([read_end = wake_pipe[0]] {
      detail::block_all_signals();
      watch(read_end);
    }).detach();
  } catch (...) {
    report("fitwatch: cannot start the SIGTERM watcher; queued lines may be lost on SIGTERM");
    return;
  }
  struct sigaction action {};
  action.sa_handler = on_sigterm;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  installed_by = ::getpid();
  sigaction(SIGTERM, &action, &previous_action);
}

}  // namespace

void flush_on_sigterm(const void* owner, drain_function drain,
                      std::chrono::milliseconds timeout) noexcept {
  try {
    auto& r = the_registry();
    const std::lock_guard<std::mutex> lock(r.mutex);
    // Once per process: a forked child that creates a logger gets its own.
    if (installed_by != ::getpid()) install();
    r.entries.push_back({owner, std::move(drain), timeout});
  } catch (...) {
    report("fitwatch: cannot register for SIGTERM flushing");
  }
}

void forget_on_sigterm(const void* owner) noexcept {
  auto& r = the_registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  r.entries.erase(std::remove_if(r.entries.begin(), r.entries.end(),
                                 [&](const auto& e) { return e.owner == owner; }),
                  r.entries.end());
}

void sigterm_before_fork() noexcept {
  the_registry().mutex.lock();
}

void sigterm_after_fork(bool child) noexcept {
  if (child && installed_by != 0) {
    sigaction(SIGTERM, &previous_action, nullptr);
    ::close(wake_pipe[0]);
    ::close(wake_pipe[1]);
    wake_pipe[0] = wake_pipe[1] = -1;
  }
  the_registry().mutex.unlock();
}

}  // namespace fitwatch::detail
