// Diagnostics go to stderr so that stdout carries only metric lines.
//
// A diagnostic is never delivered on the thread that found the problem: a
// training thread that writes to a stderr nobody reads (`cmd > log 2>&1`
// into a stalled consumer) would block, and a lock held across that write
// would block the SIGTERM watcher too. report() only queues the message
// (a bounded queue, under a lock that is never held across I/O or a handler
// call); one detached thread hands the messages to the error handler. When
// that thread is stuck on stderr the queue fills, and further messages are
// dropped and counted; the count is delivered with the next message.
#include "diagnostics.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include "fitwatch/error.hpp"
#include "fork.hpp"
#include "threads.hpp"

namespace fitwatch {

error::error(const std::string& detail) : std::invalid_argument("fitwatch: " + detail) {}

namespace {

// Messages waiting for the diagnostics thread; more are dropped and counted.
constexpr std::size_t max_queued = 64;
// How long the process waits at exit for queued messages to be delivered.
constexpr std::chrono::milliseconds exit_wait{500};

struct reporter {
  std::mutex mutex;              // guards everything below; never held across I/O or a handler call
  std::condition_variable wake;  // the diagnostics thread waits for messages
  std::condition_variable delivered;  // flush_reports() waits for deliveries
  std::shared_ptr<const error_handler> handler;
  std::deque<std::string> queue;
  std::uint64_t queued_total = 0;     // messages ever queued
  std::uint64_t delivered_total = 0;  // messages ever handed to the handler
  std::uint64_t dropped = 0;          // dropped since the last delivery (queue full)
  std::chrono::steady_clock::time_point last{};
  bool reported_once = false;
  unsigned long long suppressed = 0;
  bool thread_started = false;
  bool exit_wait_registered = false;
};

// Leaked on purpose: a background writer may report after main() returns,
// when static objects are being destroyed.
reporter& the_reporter() {
  static auto* r = new reporter;
  return *r;
}

// One line on stderr with one write(2) (not stdio: its lock may be held by
// a program thread blocked on the same stderr).
void default_handler(std::string_view message) {
  std::string line(message);
  line += '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // stderr closed or failing: nowhere left to tell
    }
  }
}

void deliver_forever() noexcept {
  auto& r = the_reporter();
  std::unique_lock<std::mutex> lock(r.mutex);
  for (;;) {
    r.wake.wait(lock, [&] { return !r.queue.empty(); });
    std::string text = std::move(r.queue.front());
    r.queue.pop_front();
    if (r.dropped > 0) {
      text += " (" + std::to_string(r.dropped) + " more reports dropped: stderr is not read)";
      r.dropped = 0;
    }
    const auto handler = r.handler;
    lock.unlock();
    try {
      if (handler && *handler) {
        (*handler)(text);
      } else {
        default_handler(text);
      }
    } catch (...) {
      // A failing handler must not end the diagnostics thread.
    }
    lock.lock();
    ++r.delivered_total;
    r.delivered.notify_all();
  }
}

void wait_at_exit() {
  detail::flush_reports(exit_wait);
}

// Called with r.mutex held.
bool start_thread(reporter& r) noexcept {
  if (r.thread_started) return true;
  detail::watch_forks();
  try {
    std::thread([] {
      detail::block_all_signals();
      deliver_forever();
    }).detach();
  } catch (...) {
    return false;  // no thread: the message is dropped, never written here
  }
  r.thread_started = true;
  if (!r.exit_wait_registered) std::atexit(wait_at_exit);
  r.exit_wait_registered = true;
  return true;
}

}  // namespace

void set_error_handler(error_handler handler) {
  auto& r = the_reporter();
  auto shared = handler ? std::make_shared<const error_handler>(std::move(handler)) : nullptr;
  const std::lock_guard<std::mutex> lock(r.mutex);
  r.handler = std::move(shared);
  r.reported_once = false;
  r.suppressed = 0;
}

bool flush_reports(std::chrono::milliseconds timeout) noexcept {
  return detail::flush_reports(timeout);
}

namespace detail {

void report(std::string_view message, urgency u) noexcept {
  try {
    auto& r = the_reporter();
    std::unique_lock<std::mutex> lock(r.mutex);
    const auto now = std::chrono::steady_clock::now();
    if (u == urgency::normal) {
      if (r.reported_once && now - r.last < std::chrono::seconds(1)) {
        ++r.suppressed;
        return;
      }
      r.last = now;
      r.reported_once = true;
    }
    std::string text(message);
    if (r.suppressed > 0 && u == urgency::normal) {
      text += " (" + std::to_string(r.suppressed) + " more reports suppressed in the last second)";
      r.suppressed = 0;
    }
    if ((r.queue.size() >= max_queued && u == urgency::normal) || !start_thread(r)) {
      ++r.dropped;
      return;
    }
    r.queue.push_back(std::move(text));
    ++r.queued_total;
    // Woken after the unlock: woken under the lock, the diagnostics thread
    // preempts the caller only to block on the lock it still holds
    // (bench_diagnostics, fitwatch_empty: the median call took 21 us, not 14).
    lock.unlock();
    r.wake.notify_one();
  } catch (...) {
    // A failing report must never reach the training loop.
  }
}

bool flush_reports(std::chrono::milliseconds timeout) noexcept {
  try {
    auto& r = the_reporter();
    std::unique_lock<std::mutex> lock(r.mutex);
    const auto target = r.queued_total;
    return r.delivered.wait_for(lock, timeout, [&] { return r.delivered_total >= target; });
  } catch (...) {
    return false;
  }
}

void reports_before_fork() noexcept {
  the_reporter().mutex.lock();
}

void reports_after_fork(bool child) noexcept {
  auto& r = the_reporter();
  if (child) {
    // The diagnostics thread is the parent's, and so are the messages it
    // has not delivered yet. The condition variables may hold its waits:
    // start them afresh (the old ones are abandoned, never destroyed).
    r.queue.clear();
    r.delivered_total = r.queued_total;
    r.dropped = 0;
    r.thread_started = false;
    new (&r.wake) std::condition_variable();
    new (&r.delivered) std::condition_variable();
  }
  r.mutex.unlock();
}

}  // namespace detail
}  // namespace fitwatch
