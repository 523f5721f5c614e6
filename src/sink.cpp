#include "fitwatch/sink.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <thread>
#include <vector>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"

namespace fitwatch {

void fd_sink::write(std::string_view line) noexcept {
  if (broken_.load(std::memory_order_relaxed)) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Hold SIGPIPE back for this thread during the call, so a closed reader
  // gives EPIPE instead of killing the process; consume the signal we caused
  // unless one was already pending. (The technique libcurl and OpenSSL use.)
  sigset_t pipe_only;
  sigset_t old_mask;
  sigset_t pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;

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
  if (err == EPIPE && !was_pending) {
    const timespec zero{0, 0};
    sigtimedwait(&pipe_only, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  if (err != 0) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    if (err == EPIPE || err == EBADF) broken_.store(true, std::memory_order_relaxed);
    detail::report(std::string("fitwatch: cannot write a metric line to fd ") +
                   std::to_string(fd_) + ": " + std::strerror(err) +
                   (err == EPIPE || err == EBADF ? "; further lines are discarded" : ""));
  }
}

std::shared_ptr<fd_sink> stdout_sink() {
  return std::make_shared<fd_sink>(STDOUT_FILENO);
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

struct async_sink::state {
  std::shared_ptr<sink> inner;
  options opts;
  std::mutex mutex;
  std::condition_variable not_empty;
  std::condition_variable not_full;
  std::condition_variable idle;  // queue empty and no line in the writer's hands
  // Queued lines. Line buffers circulate between the ring, the writer and
  // `spare`, so that once warm no write allocates.
  std::vector<std::string> ring;
  std::vector<std::string> spare;
  std::size_t head = 0;
  std::size_t count = 0;
  bool busy = false;
  bool stop = false;
  bool exited = false;
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> written{0};

  void run() noexcept {
    std::string line;
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      not_empty.wait(lock, [&] { return count > 0 || stop; });
      if (count == 0) break;  // stopping, and nothing left
      std::swap(line, ring[head]);
      head = (head + 1) % ring.size();
      --count;
      busy = true;
      lock.unlock();
      not_full.notify_one();
      inner->write(line);
      written.fetch_add(1, std::memory_order_relaxed);
      lock.lock();
      spare.push_back(std::move(line));
      line = std::string();
      busy = false;
      if (count == 0) idle.notify_all();
    }
    exited = true;
    idle.notify_all();
  }
};

async_sink::async_sink(std::shared_ptr<sink> inner) : async_sink(std::move(inner), options{}) {}

async_sink::async_sink(std::shared_ptr<sink> inner, options opts)
    : state_(std::make_shared<state>()) {
  if (opts.capacity == 0) throw error("async_sink capacity must be at least 1");
  if (!inner) throw error("async_sink needs a sink to write to");
  state_->inner = std::move(inner);
  state_->opts = opts;
  state_->ring.resize(opts.capacity);
  state_->spare.reserve(opts.capacity + 2);
  // The writer owns a reference to the state, so that a writer stuck on a
  // stalled reader can be left behind safely at shutdown.
  std::thread([s = state_] {
    // Signals are for the program's threads, not for ours.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    s->run();
  }).detach();
}

async_sink::~async_sink() {
  auto& s = *state_;
  const bool drained = flush(s.opts.shutdown_timeout);
  std::unique_lock<std::mutex> lock(s.mutex);
  s.stop = true;
  std::size_t lost = 0;
  if (!drained) {
    lost = s.count;
    s.count = 0;
  }
  s.not_empty.notify_all();
  s.not_full.notify_all();
  // The writer exits at once unless it is stuck in a write; then it is left
  // to finish (or to die with the process) holding its own state.
  s.idle.wait_for(lock, std::chrono::milliseconds(100), [&] { return s.exited; });
  lock.unlock();
  if (lost > 0) {
    detail::report("fitwatch: the reader of the metric lines stalled; " + std::to_string(lost) +
                   " queued lines were not written at shutdown");
  }
}

void async_sink::write(std::string_view line) noexcept {
  auto& s = *state_;
  const char* dropped_what = nullptr;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (s.stop) {
      s.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (s.count == s.ring.size()) {
      switch (s.opts.policy) {
        case overflow_policy::block:
          s.not_full.wait(lock, [&] { return s.count < s.ring.size() || s.stop; });
          if (s.stop) {
            s.dropped.fetch_add(1, std::memory_order_relaxed);
            return;
          }
          break;
        case overflow_policy::drop_newest:
          s.dropped.fetch_add(1, std::memory_order_relaxed);
          dropped_what = "newest";
          break;
        case overflow_policy::drop_oldest:
          s.spare.push_back(std::move(s.ring[s.head]));
          s.ring[s.head] = std::string();
          s.head = (s.head + 1) % s.ring.size();
          --s.count;
          s.dropped.fetch_add(1, std::memory_order_relaxed);
          dropped_what = "oldest";
          break;
      }
    }
    if (dropped_what == nullptr || s.opts.policy == overflow_policy::drop_oldest) {
      try {
        std::string& slot = s.ring[(s.head + s.count) % s.ring.size()];
        if (!s.spare.empty()) {
          slot.swap(s.spare.back());
          s.spare.pop_back();
        }
        slot.assign(line.data(), line.size());
        ++s.count;
      } catch (...) {
        s.dropped.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  s.not_empty.notify_one();
  if (dropped_what != nullptr) {
    detail::report(std::string("fitwatch: metric queue full (the reader of stdout is slow); "
                               "dropped the ") +
                   dropped_what + " line; " + std::to_string(dropped()) + " dropped so far");
  }
}

bool async_sink::flush(std::chrono::milliseconds timeout) noexcept {
  auto& s = *state_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (!s.idle.wait_until(lock, deadline, [&] { return (s.count == 0 && !s.busy) || s.exited; })) {
      return false;
    }
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return s.inner->flush(std::max(left, std::chrono::milliseconds(0)));
}

std::uint64_t async_sink::dropped() const noexcept {
  return state_->dropped.load();
}
std::uint64_t async_sink::written() const noexcept {
  return state_->written.load();
}

}  // namespace fitwatch
