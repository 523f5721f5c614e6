// Diagnostics cost on the training thread (issue 26): one report through
// fitwatch's own queue (src/diagnostics.cpp) against one message through
// spdlog's async logger (its own thread pool, a queue of the same 64 slots,
// async_overflow_policy::overrun_oldest, a sink writing each line with one
// write(2) to a pipe), in two states:
// - empty: a reader drains the pipe and each call waits (untimed) until the
//   previous line was read and 200 us more, so every call finds an empty
//   queue and the delivering thread asleep (the usual case: diagnostics are
//   rare); the call then pays for waking that thread;
// - full: nobody reads the pipe, the delivering thread is stuck in write(2)
//   and the queue holds 64 messages (stderr not read): fitwatch drops the
//   new message and counts it, spdlog overwrites the oldest.
// fitwatch's rate limit (one report a second) is reset before each timed
// call, so both take their queue path; `fitwatch_rate_limited` shows what a
// burst of reports costs after the first one.
//
// Each call is timed on its own with steady_clock; the figures are the
// median (p50_ns) and the 99th percentile (p99_ns) per call, clock
// included (`clock_only` is the clock's own cost, to subtract).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"

#ifdef FITWATCH_BENCH_SPDLOG
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#endif

namespace {

using clock_type = std::chrono::steady_clock;

// A diagnostic of the usual length.
constexpr std::string_view message =
    "fitwatch: metric 'ValidationLoss' is NaN at step 1234: value skipped (EMF takes numbers)";
constexpr std::size_t queue_slots = 64;  // fitwatch's max_queued
constexpr int empty_calls = 20000;
constexpr int full_calls = 200000;

void write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;
    }
  }
}

// A pipe whose reader can be stopped (the pipe then fills and the writer
// blocks) and resumed; it counts the lines it read.
class drained_pipe {
 public:
  drained_pipe() {
    if (::pipe2(fd_, O_CLOEXEC) != 0) std::abort();
    reader_ = std::thread([this] { read_loop(); });
  }
  drained_pipe(const drained_pipe&) = delete;
  drained_pipe& operator=(const drained_pipe&) = delete;
  ~drained_pipe() {
    // Left open on purpose: a delivering thread may still hold the write end.
    stop_ = true;
    draining_ = true;
    reader_.detach();
  }
  int write_fd() const { return fd_[1]; }
  std::uint64_t lines() const { return lines_.load(); }

  // Waits (untimed) until `n` lines were read, then a little longer, so
  // that the delivering thread is back asleep on its queue.
  void wait_lines(std::uint64_t n) const {
    while (lines_.load() < n) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  // Stops reading, then fills the pipe to the last byte, so that the next
  // write(2) on it blocks.
  void stall() {
    draining_ = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the reader leaves read()
    const int flags = ::fcntl(fd_[1], F_GETFL);
    ::fcntl(fd_[1], F_SETFL, flags | O_NONBLOCK);
    const std::string filler(4096, 'x');
    while (::write(fd_[1], filler.data(), filler.size()) > 0) {
    }
    while (::write(fd_[1], filler.data(), 1) > 0) {
    }
    ::fcntl(fd_[1], F_SETFL, flags);
  }
  void resume() { draining_ = true; }

 private:
  void read_loop() {
    std::vector<char> buf(65536);
    while (!stop_) {
      if (!draining_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      const ssize_t n = ::read(fd_[0], buf.data(), buf.size());
      if (n <= 0) continue;
      lines_ += static_cast<std::uint64_t>(std::count(buf.data(), buf.data() + n, '\n'));
    }
  }

  int fd_[2];
  std::thread reader_;
  std::atomic<bool> draining_{true};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> lines_{0};
};

// Times each call of `call` on its own; `between` runs untimed before each.
template <class Call, class Between>
void timed(benchmark::State& state, Call call, Between between) {
  std::vector<double> ns;
  ns.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    between();
    const auto t0 = clock_type::now();
    call();
    const auto t1 = clock_type::now();
    const std::chrono::duration<double> d = t1 - t0;
    state.SetIterationTime(d.count());
    ns.push_back(d.count() * 1e9);
  }
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double q) {
    return ns[std::min(ns.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(ns.size())))];
  };
  state.counters["p50_ns"] = at(0.50);
  state.counters["p99_ns"] = at(0.99);
}

// ---- fitwatch -----------------------------------------------------------------

drained_pipe& fitwatch_pipe() {
  static auto* p = new drained_pipe;  // leaked: the diagnostics thread may write at exit
  return *p;
}

// Sets the handler (a write(2) of the line to the pipe), which also resets
// the rate limit.
void fitwatch_handler() {
  fitwatch::set_error_handler([](std::string_view text) {
    std::string line(text);
    line += '\n';
    write_all(fitwatch_pipe().write_fd(), line);
  });
}

void clock_only(benchmark::State& state) {
  timed(
      state, [] {}, [] {});
}

void fitwatch_empty(benchmark::State& state) {
  auto& pipe = fitwatch_pipe();
  fitwatch_handler();
  fitwatch::flush_reports(std::chrono::seconds(5));
  std::uint64_t expected = pipe.lines();
  timed(
      state, [] { fitwatch::detail::report(message); },
      [&] {
        pipe.wait_lines(expected++);
        fitwatch_handler();
      });
  fitwatch::flush_reports(std::chrono::seconds(5));
}

void fitwatch_full(benchmark::State& state) {
  auto& pipe = fitwatch_pipe();
  fitwatch_handler();
  fitwatch::flush_reports(std::chrono::seconds(5));
  pipe.stall();
  // One message for the stuck thread, then the queue's 64.
  for (std::size_t i = 0; i < queue_slots + 1; ++i) {
    fitwatch_handler();
    fitwatch::detail::report(message);
  }
  timed(
      state, [] { fitwatch::detail::report(message); }, [] { fitwatch_handler(); });
  pipe.resume();
  fitwatch::flush_reports(std::chrono::seconds(10));
}

void fitwatch_rate_limited(benchmark::State& state) {
  fitwatch_handler();
  fitwatch::detail::report(message);  // the one report of this second
  timed(
      state, [] { fitwatch::detail::report(message); }, [] {});
  fitwatch::flush_reports(std::chrono::seconds(5));
}

BENCHMARK(clock_only)->UseManualTime()->Iterations(full_calls);
BENCHMARK(fitwatch_empty)->UseManualTime()->Iterations(empty_calls);
BENCHMARK(fitwatch_full)->UseManualTime()->Iterations(full_calls);
BENCHMARK(fitwatch_rate_limited)->UseManualTime()->Iterations(full_calls);

// ---- spdlog -------------------------------------------------------------------
#ifdef FITWATCH_BENCH_SPDLOG

// One line per message with one write(2), as fitwatch's default handler.
class pipe_sink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit pipe_sink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    write_all(fd_, std::string_view(line.data(), line.size()));
  }
  void flush_() override {}

 private:
  int fd_;
};

struct spdlog_setup {
  spdlog_setup()
      : pool(std::make_shared<spdlog::details::thread_pool>(queue_slots, 1)),
        log(std::make_shared<spdlog::async_logger>(
            "bench", std::make_shared<pipe_sink>(pipe.write_fd()), pool,
            spdlog::async_overflow_policy::overrun_oldest)) {
    log->set_pattern("%v");
  }
  drained_pipe pipe;
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<spdlog::async_logger> log;
};

spdlog_setup& the_spdlog() {
  static auto* s = new spdlog_setup;  // leaked: its thread may be stuck at exit
  return *s;
}

void spdlog_empty(benchmark::State& state) {
  auto& s = the_spdlog();
  auto* log = s.log.get();
  std::uint64_t expected = s.pipe.lines();
  timed(
      state, [log] { log->warn(message); }, [&] { s.pipe.wait_lines(expected++); });
  s.pipe.wait_lines(expected);
}

void spdlog_full(benchmark::State& state) {
  auto& s = the_spdlog();
  auto* log = s.log.get();
  s.pipe.stall();
  for (std::size_t i = 0; i < queue_slots + 1; ++i) log->warn(message);
  timed(
      state, [log] { log->warn(message); }, [] {});
  state.counters["overrun"] = static_cast<double>(s.pool->overrun_counter());
  s.pipe.resume();
}

BENCHMARK(spdlog_empty)->UseManualTime()->Iterations(empty_calls);
BENCHMARK(spdlog_full)->UseManualTime()->Iterations(full_calls);

#endif

}  // namespace

BENCHMARK_MAIN();
