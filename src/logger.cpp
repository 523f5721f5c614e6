#include "fitwatch/logger.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "fitwatch/sagemaker.hpp"
#include "fork.hpp"
#include "frame.hpp"
#include "sigterm.hpp"
#include "threads.hpp"

namespace fitwatch {
namespace {

std::int64_t now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The default output: stdout, unless this process is a torchrun rank that
// must not write (sagemaker.hpp: only global rank 0, unless
// FITWATCH_WRITE_RANKS=all). A bad RANK or FITWATCH_WRITE_RANKS is reported
// and the process writes: a duplicate line is better than none.
std::shared_ptr<sink> default_output() {
  try {
    if (!environment_writes_metrics()) return std::make_shared<discard_sink>();
  } catch (const error& e) {
    detail::report(std::string(e.what()) + "; this process writes metric lines");
  }
  return stdout_sink();
}

// Under Open MPI (mpirun sets OMPI_COMM_WORLD_SIZE), once per process when
// a logger writes to fd 1: SageMaker's MPI launcher runs mpirun with
// --tag-output, which prefixes every stdout line of a rank with a tag such
// as "[1,0]<stdout>:". Such a line is not JSON: CloudWatch extracts no
// metric from it, and the metric-filter fallback matches nothing either.
void report_mpi_tagging(const sink& out) {
  static std::atomic<bool> reported{false};
  const auto* fd = dynamic_cast<const fd_sink*>(&out);
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (fd == nullptr || fd->fd() != STDOUT_FILENO || size == nullptr || reported.exchange(true)) {
    return;
  }
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  detail::report(std::string("fitwatch: this process is rank ") + (rank != nullptr ? rank : "?") +
                 " of an Open MPI job (OMPI_COMM_WORLD_SIZE=" + size +
                 "). If mpirun runs with --tag-output, as SageMaker's MPI launcher does, it "
                 "prefixes each stdout line with a rank tag and CloudWatch extracts no metric from "
                 "the lines: write them on one rank to a stdout mpirun does not tag "
                 "(docs/deploy.md, \"MPI jobs\")");
}

}  // namespace

namespace {

// What the fork handlers (fork.hpp) do with a logger.
class forkable {
 public:
  virtual void lock_for_fork() noexcept = 0;
  virtual void unlock_after_fork(bool child) noexcept = 0;

 protected:
  ~forkable() = default;
};

// Every live logger.
struct live_loggers {
  std::mutex mutex;
  std::vector<forkable*> all;
};

live_loggers& the_loggers() {
  static auto* l = new live_loggers;  // never destroyed: a fork may come after main
  return *l;
}

}  // namespace

struct logger::impl final : forkable {
  impl(logger_options o)
      : options(std::move(o)), rec(options.namespace_name), ser(options.max_line_bytes) {}

  // Values, then the queue: the order flush_at() takes them.
  void lock_for_fork() noexcept override {
    mutex.lock();
    queue_mutex.lock();
  }

  void unlock_after_fork(bool child) noexcept override {
    if (child && options.background_writer) {
      // The queued evaluations are the parent's to write; this copy of the
      // logger writes on the calling thread from now on (write_frame). The
      // condition variables may hold the parent's waiters: never used again.
      forked = true;
      options.background_writer = false;
      head = 0;
      count = 0;
      busy = false;
    }
    queue_mutex.unlock();
    mutex.unlock();
  }

  logger_options options;
  sagemaker_environment env;
  std::string job_name;
  std::shared_ptr<sink> out;

  std::mutex mutex;  // guards rec (and ser when there is no writer thread)
  record rec;
  serializer ser;
  frame sync_frame;
  // In a forked child (fork.hpp): the writer thread is the parent's, and so
  // may be `ser`, caught mid-line by the fork. The child's copy writes on
  // the calling thread with a serializer of its own. Guarded by `mutex`.
  bool forked = false;
  std::unique_ptr<serializer> child_ser;

  // The queue of evaluations between flush() and the writer thread. Frames
  // keep their buffers; the writer hands its spent frame to the next free
  // slot, so a warm loop allocates nothing and touches few frames.
  std::mutex queue_mutex;
  std::condition_variable not_empty;
  std::condition_variable not_full;
  std::condition_variable idle;  // queue empty and no frame in the writer's hands
  std::vector<frame> ring;
  std::size_t head = 0;
  std::size_t count = 0;
  bool busy = false;
  bool stop = false;
  bool exited = false;
  std::atomic<std::uint64_t> dropped_evaluations{0};

  // The slot flush() fills next; the writer hands spent frames to it, so both
  // must name the same slot. Called with queue_mutex held, queue not full.
  frame& next_free() { return ring[(head + count) % ring.size()]; }

  // The synchronous path; called with `mutex` held.
  void write_frame(const frame& f) {
    if (forked && !child_ser) child_ser = std::make_unique<serializer>(options.max_line_bytes);
    serializer& s = forked ? *child_ser : ser;
    s.write(f, [this](std::string_view line) { out->write(line); });
  }

  // Waking a sleeping thread costs a system call, more than everything else
  // flush() does. So flush() wakes the writer only when the queue is a
  // quarter full; otherwise the writer looks at the queue every writer_tick (lines
  // reach stdout at most that late; CloudWatch counts in seconds).
  static constexpr std::chrono::milliseconds writer_tick{20};

  // Lines of consecutive queued evaluations are written together, up to
  // PIPE_BUF bytes per write(2): one system call for several lines, and a
  // write that size is still atomic on a pipe, so no line is ever split or
  // interleaved with another writer's output. (A line over PIPE_BUF, only
  // with a larger max_line_bytes, is written alone.)
  static constexpr std::size_t batch_bytes = limits::pipe_buf;

  // The most frames the writer takes out of the queue at once.
  static constexpr std::size_t max_take = 64;

  void run() noexcept {
    // Frames taken out of the queue; each returns to the ring as the spent
    // frame of a later take, so the buffers are reused.
    std::vector<frame> taken(max_take);
    std::string batch;
    batch.reserve(2 * batch_bytes);
    std::size_t last_line = 512;  // bytes of the last line: how many frames fill a write
    const auto add = [&](std::string_view line) {
      if (!batch.empty() && batch.size() + line.size() > batch_bytes) {
        out->write(batch);
        batch.clear();
      }
      batch.append(line);
      last_line = line.size();
    };
    std::unique_lock<std::mutex> lock(queue_mutex);
    for (;;) {
      if (count == 0 && !stop) not_empty.wait_for(lock, writer_tick);
      if (count == 0) {
        if (stop) break;  // stopping, and nothing left
        continue;
      }
      // As many frames as the write they go into is likely to hold, under
      // one lock: each acquisition is a chance for the training thread to
      // find the lock taken and sleep in the kernel.
      const std::size_t room = batch_bytes > batch.size() ? batch_bytes - batch.size() : 0;
      const std::size_t want = std::min(max_take, std::max<std::size_t>(1, room / last_line));
      std::size_t n = 0;
      for (; n < want && count > 0; ++n) {
        // While the writer keeps up (the queue under half full), the spent
        // frame goes to the slot the producer fills next if that slot has
        // never been filled: a few frames circulate and the other slots
        // never allocate. (A new slot per evaluation means allocations on
        // the training thread's heap between the model's, which cost a
        // training loop 3 % more page faults and 1 % of its time:
        // docs/benchmarks.md, overhead.) A deep queue skips the check,
        // which would touch a cold slot per line.
        if (count * 2 < ring.size()) {
          auto& next = next_free();
          if (next.empty()) std::swap(taken[n], next);
        }
        std::swap(taken[n], ring[head]);
        head = (head + 1) % ring.size();
        --count;
      }
      busy = true;
      // A producer blocked on a full queue (overflow_policy::block) is woken
      // once half the queue is free, not for every slot: fewer handoffs.
      const bool wake_producer = count * 2 <= ring.size();
      lock.unlock();
      if (wake_producer) not_full.notify_all();
      for (std::size_t i = 0; i < n; ++i) {
        try {
          ser.write(taken[i], add);
        } catch (...) {
          report("fitwatch: an evaluation could not be serialized (out of memory)");
        }
      }
      lock.lock();
      // More evaluations waiting, and room for one more line: add to this write.
      if (count > 0 && batch.size() + last_line <= batch_bytes) continue;
      lock.unlock();
      if (!batch.empty()) out->write(batch);
      batch.clear();
      lock.lock();
      busy = false;
      if (count == 0) idle.notify_all();
    }
    exited = true;
    idle.notify_all();
  }

  static void report(const std::string& message) noexcept { detail::report(message); }

  bool drain(std::chrono::milliseconds timeout) noexcept {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (options.background_writer) {
      not_empty.notify_one();
      std::unique_lock<std::mutex> lock(queue_mutex);
      if (!idle.wait_until(lock, deadline, [&] { return (count == 0 && !busy) || exited; })) {
        return false;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return out->flush(std::max(left, std::chrono::milliseconds(0)));
  }
};

logger::logger(logger_options options) : impl_(std::make_shared<impl>(std::move(options))) {
  auto& s = *impl_;
  if (s.options.queue_capacity == 0) throw error("logger queue_capacity must be at least 1");
  if (s.options.max_line_bytes < 1024 || s.options.max_line_bytes > limits::max_event_bytes) {
    throw error("logger max_line_bytes " + std::to_string(s.options.max_line_bytes) +
                " out of range (1024..1048576)");
  }
  s.env = read_sagemaker_environment();
  s.job_name = !s.env.job_name.empty()       ? s.env.job_name
               : !s.options.job_name.empty() ? s.options.job_name
                                             : std::string("local");
  if (s.options.default_dimensions) {
    s.rec.set_dimensions({{{"TrainingJobName", s.job_name}}});
    if (!s.env.current_host.empty()) s.rec.set(s.rec.property("Host"), s.env.current_host);
  } else {
    s.rec.set_dimensions({});
  }
  s.out = s.options.output ? s.options.output : default_output();
  report_mpi_tagging(*s.out);
  if (s.options.background_writer) {
    s.ring.resize(s.options.queue_capacity);
    // The writer holds its own reference to the state, so that a writer stuck
    // on a stalled reader can be left behind safely at shutdown.
    std::thread([state = impl_] {
      detail::block_all_signals();
      state->run();
    }).detach();
  }
  if (s.options.flush_on_sigterm) {
    detail::flush_on_sigterm(
        impl_.get(), [state = impl_.get()](std::chrono::milliseconds t) { return state->drain(t); },
        s.options.sigterm_timeout);
  }
  detail::watch_forks();
  auto& l = the_loggers();
  const std::lock_guard<std::mutex> lock(l.mutex);
  l.all.push_back(impl_.get());
}

logger::~logger() {
  auto& s = *impl_;
  {
    auto& l = the_loggers();
    const std::lock_guard<std::mutex> lock(l.mutex);
    l.all.erase(std::find(l.all.begin(), l.all.end(), impl_.get()));
  }
  flush();
  const bool drained = s.drain(s.options.shutdown_timeout);
  if (s.options.flush_on_sigterm) detail::forget_on_sigterm(impl_.get());
  if (!s.options.background_writer) return;
  std::unique_lock<std::mutex> lock(s.queue_mutex);
  s.stop = true;
  const std::size_t lost = drained ? 0 : s.count;
  s.count = 0;
  s.not_empty.notify_all();
  s.not_full.notify_all();
  // The writer exits at once unless it is stuck in a write; then it is left
  // to finish (or to end with the process), holding its own reference.
  s.idle.wait_for(lock, std::chrono::milliseconds(100), [&] { return s.exited; });
  lock.unlock();
  if (lost > 0) {
    detail::report("fitwatch: the reader of the metric lines stalled; " + std::to_string(lost) +
                   " evaluations were not written at shutdown");
  }
}

metric_id logger::metric(std::string_view name, unit u, resolution r) {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->rec.metric(name, u, r);
}

property_id logger::property(std::string_view name) {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->rec.property(name);
}

void logger::set_dimensions(const std::vector<dimension_set>& sets) {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->rec.set_dimensions(sets);
}

void logger::add_dimensions(const dimension_set& set) {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->rec.add_dimensions(set);
}

void logger::put(metric_id id, double value) noexcept {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->rec.put(id, value);
}

void logger::set(property_id id, double value) noexcept {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->rec.set(id, value);
}

void logger::set(property_id id, std::int64_t value) noexcept {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->rec.set(id, value);
}

void logger::set(property_id id, bool value) noexcept {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->rec.set(id, value);
}

void logger::set(property_id id, std::string_view value) noexcept {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->rec.set(id, value);
}

void logger::flush() noexcept {
  flush_at(now_ms());
}

void logger::flush_at(std::int64_t timestamp_ms) noexcept {
  auto& s = *impl_;
  const std::lock_guard<std::mutex> lock(s.mutex);
  if (s.rec.empty()) return;
  if (!s.options.background_writer) {
    try {
      if (detail::record_access::take(s.rec, s.sync_frame, timestamp_ms))
        s.write_frame(s.sync_frame);
    } catch (...) {
      detail::report("fitwatch: an evaluation could not be serialized (out of memory)");
    }
    return;
  }
  const char* dropped = nullptr;
  bool discard = false;
  bool wake = false;
  {
    std::unique_lock<std::mutex> queue_lock(s.queue_mutex);
    if (s.count == s.ring.size()) {
      switch (s.options.overflow) {
        case overflow_policy::block:
          s.not_full.wait(queue_lock, [&] { return s.count < s.ring.size() || s.stop; });
          break;
        case overflow_policy::drop_newest:
          dropped = "newest";
          discard = true;
          break;
        case overflow_policy::drop_oldest:
          s.head = (s.head + 1) % s.ring.size();
          --s.count;
          dropped = "oldest";
          break;
      }
    }
    if (dropped != nullptr) s.dropped_evaluations.fetch_add(1, std::memory_order_relaxed);
    if (discard || s.count == s.ring.size()) {  // dropped, or stopping while blocked
      s.rec.discard();
    } else if (detail::record_access::take(s.rec, s.next_free(), timestamp_ms)) {
      ++s.count;
    }
    // A quarter full: the writer gets three quarters of the queue's time
    // (about 4 ms at one evaluation every 5 us) to be scheduled.
    wake = s.count * 4 >= s.ring.size();
  }
  if (wake) s.not_empty.notify_one();
  if (dropped != nullptr) {
    detail::report(std::string("fitwatch: metric queue full (the reader of stdout is slow); "
                               "dropped the ") +
                   dropped + " evaluation; " + std::to_string(s.dropped_evaluations.load()) +
                   " dropped so far");
  }
}

void detail::loggers_before_fork() noexcept {
  auto& l = the_loggers();
  l.mutex.lock();
  for (auto* f : l.all) f->lock_for_fork();
}

void detail::loggers_after_fork(bool child) noexcept {
  auto& l = the_loggers();
  for (auto* f : l.all) f->unlock_after_fork(child);
  l.mutex.unlock();
}

bool logger::drain(std::chrono::milliseconds timeout) noexcept {
  return impl_->drain(timeout);
}

std::uint64_t logger::dropped_values() const noexcept {
  const std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->rec.dropped_values();
}

std::uint64_t logger::dropped_evaluations() const noexcept {
  return impl_->dropped_evaluations.load();
}

const sagemaker_environment& logger::environment() const noexcept {
  return impl_->env;
}
const std::string& logger::job_name() const noexcept {
  return impl_->job_name;
}
const std::string& logger::namespace_name() const noexcept {
  return impl_->rec.namespace_name();
}

}  // namespace fitwatch
