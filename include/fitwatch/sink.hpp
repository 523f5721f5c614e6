// fitwatch: where EMF lines go.
//
// A sink receives whole lines (each ending with '\n') and writes each one
// with a single call, so lines from several threads never interleave.
// - fd_sink / stdout_sink(): one write(2) per line to a file descriptor; a
//   closed reader (EPIPE) neither kills the process (SIGPIPE is held back
//   for the call) nor blocks it: the sink reports once and discards further
//   lines.
// - file_sink: appends to a file (O_APPEND).
// - ostream_sink: any std::ostream, for tests and embedding.
// - async_sink: wraps another sink with a bounded queue drained by one
//   background thread, so the training thread never waits for a slow reader
//   of stdout. When the queue is full, overflow_policy decides; dropped
//   lines are counted and reported.
//
// \code
//   auto out = std::make_shared<fitwatch::async_sink>(fitwatch::stdout_sink());
//   out->write("{...}\n");
//   out->flush(std::chrono::seconds(5));
// \endcode
//
// Thread safety: every sink here may be called from several threads at once;
// no concurrent call causes a data race.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

namespace fitwatch {

class sink {
 public:
  virtual ~sink() = default;
  /// Writes one line (ending with '\n'). Never throws.
  virtual void write(std::string_view line) noexcept = 0;
  /// Waits until every line written so far has been handed on, or until the
  /// timeout. Returns false on timeout. Never throws.
  virtual bool flush(std::chrono::milliseconds timeout) noexcept {
    (void)timeout;
    return true;
  }
};

/// Writes each line with one write(2) call to a file descriptor it does not own.
class fd_sink : public sink {
 public:
  explicit fd_sink(int fd) noexcept : fd_(fd) {}
  void write(std::string_view line) noexcept override;
  /// Lines that could not be written (closed reader, I/O error).
  std::uint64_t failed() const noexcept { return failed_.load(); }

 protected:
  int fd_;

 private:
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<bool> broken_{false};
};

/// fd_sink on file descriptor 1 (what SageMaker sends to CloudWatch Logs).
std::shared_ptr<fd_sink> stdout_sink();

/// Appends to a file, creating it if needed.
class file_sink : public fd_sink {
 public:
  /// \throw error if the file cannot be opened for appending.
  explicit file_sink(const std::string& path);
  ~file_sink() override;
  file_sink(const file_sink&) = delete;
  file_sink& operator=(const file_sink&) = delete;
};

/// Writes to a std::ostream the caller keeps alive.
class ostream_sink : public sink {
 public:
  explicit ostream_sink(std::ostream& out) noexcept : out_(out) {}
  void write(std::string_view line) noexcept override;
  bool flush(std::chrono::milliseconds timeout) noexcept override;

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

/// What async_sink does with a line when its queue is full.
enum class overflow_policy : std::uint8_t {
  block,        ///< wait for room (the training thread may stall)
  drop_oldest,  ///< discard the oldest queued line (default: newest data wins)
  drop_newest,  ///< discard the line being written
};

/// A bounded queue in front of another sink, drained by a background thread.
class async_sink : public sink {
 public:
  struct options {
    std::size_t capacity = 8192;  ///< lines held at most
    overflow_policy policy = overflow_policy::drop_oldest;
    /// How long the destructor waits for the queue to drain.
    std::chrono::milliseconds shutdown_timeout{5000};
  };
  explicit async_sink(std::shared_ptr<sink> inner);
  /// \throw error if capacity is 0.
  async_sink(std::shared_ptr<sink> inner, options opts);
  /// Drains the queue within shutdown_timeout, then stops the writer thread.
  ~async_sink() override;
  async_sink(const async_sink&) = delete;
  async_sink& operator=(const async_sink&) = delete;

  /// Queues the line; never waits unless the policy is `block`.
  void write(std::string_view line) noexcept override;
  bool flush(std::chrono::milliseconds timeout) noexcept override;

  /// Lines discarded because the queue was full.
  std::uint64_t dropped() const noexcept;
  /// Lines handed to the inner sink.
  std::uint64_t written() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace fitwatch
