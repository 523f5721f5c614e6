#include "fork.hpp"

#include <pthread.h>

namespace fitwatch::detail {
namespace {

// Prepare takes the locks in the library's lock order; the parent and the
// child release them in the reverse order.
extern "C" void before_fork() {
  sigterm_before_fork();
  loggers_before_fork();
  reports_before_fork();
}

extern "C" void after_fork_parent() {
  reports_after_fork(false);
  loggers_after_fork(false);
  sigterm_after_fork(false);
}

extern "C" void after_fork_child() {
  reports_after_fork(true);
  loggers_after_fork(true);
  sigterm_after_fork(true);
}

}  // namespace

void watch_forks() noexcept {
  // A function-local static: registered once, by whichever module starts first.
  static const int registered = ::pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  (void)registered;
}

}  // namespace fitwatch::detail
