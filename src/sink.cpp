#include "fitwatch/sink.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "threads.hpp"

namespace fitwatch {

namespace {
thread_local bool signals_blocked = false;
}  // namespace

void detail::block_all_signals() noexcept {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  signals_blocked = true;
}

bool detail::all_signals_blocked() noexcept {
  return signals_blocked;
}

void fd_sink::write(std::string_view line) noexcept {
  if (broken_.load(std::memory_order_relaxed)) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Hold SIGPIPE back for this thread during the call, so a closed reader
  // gives EPIPE instead of killing the process; consume the signal we caused
  // unless one was already pending. (The technique libcurl and OpenSSL use.)
  // A SIGPIPE can be pending already only if the thread blocked it before
  // (an unblocked one is delivered), so the pending set is read only then,
  // and the mask is restored only if we changed it. The library's own
  // threads block every signal for good and skip all of it: each system
  // call here costs as much as formatting a line.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t old_mask;
  bool restore = false;
  bool was_pending = false;
  if (!detail::all_signals_blocked()) {
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
    restore = sigismember(&old_mask, SIGPIPE) != 1;
    if (!restore) {
      sigset_t pending;
      sigpending(&pending);
      was_pending = sigismember(&pending, SIGPIPE) == 1;
    }
  }

  int err = 0;
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking descriptor
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    err = errno;
    break;
  }
  if (err == EPIPE && !was_pending) {  // ours: consume it, so it is never delivered
    const timespec zero{0, 0};
    sigtimedwait(&pipe_only, nullptr, &zero);
  }
  if (restore) pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  if (err != 0) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    if (err == EPIPE || err == EBADF) broken_.store(true, std::memory_order_relaxed);
    detail::report(std::string("fitwatch: cannot write a metric line to fd ") +
                   std::to_string(fd_) + ": " + std::strerror(err) +
                   (err == EPIPE || err == EBADF ? "; further lines are discarded" : ""));
  }
}

namespace {
// Whether fd 1 was open when the program started. A program started with
// stdout closed (`prog >&-`) may later open a file, which then gets fd 1:
// metric lines must not go into it. Checked by a constructor function that
// runs before main() and before every C++ static object (priority 101), so
// a logger built by a static initializer sees the answer too.
enum class fd_state : int { unknown, open, closed };
fd_state stdout_at_start = fd_state::unknown;  // constant-initialized

__attribute__((constructor(101))) void check_stdout_at_start() {
  stdout_at_start = ::fcntl(STDOUT_FILENO, F_GETFD) == -1 ? fd_state::closed : fd_state::open;
}
}  // namespace

std::shared_ptr<fd_sink> stdout_sink() {
  auto s = std::make_shared<fd_sink>(STDOUT_FILENO);
  const char* why = stdout_at_start == fd_state::closed     ? "was closed when the program started"
                    : ::fcntl(STDOUT_FILENO, F_GETFD) == -1 ? "is closed"
                                                            : nullptr;
  if (why != nullptr) {
    s->broken_.store(true, std::memory_order_relaxed);
    detail::report(std::string("fitwatch: stdout (fd 1) ") + why +
                   "; metric lines are discarded (a file opened since may have taken fd 1; "
                   "use file_sink to write lines to a file)");
  }
  return s;
}

file_sink::file_sink(const std::string& path)
    : fd_sink(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
  if (fd_ < 0) {
    throw error("cannot open file sink \"" + path + "\": " + std::strerror(errno));
  }
}

file_sink::~file_sink() {
  ::close(fd_);
}

void ostream_sink::write(std::string_view line) noexcept {
  try {
    const std::lock_guard<std::mutex> lock(mutex_);
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    if (!out_) detail::report("fitwatch: the output stream failed; a metric line was lost");
  } catch (...) {
    detail::report("fitwatch: the output stream threw; a metric line was lost");
  }
}

bool ostream_sink::flush(std::chrono::milliseconds) noexcept {
  try {
    const std::lock_guard<std::mutex> lock(mutex_);
    out_.flush();
    return static_cast<bool>(out_);
  } catch (...) {
    return false;
  }
}

}  // namespace fitwatch
