// fitwatch: where EMF lines go.
//
// A sink receives whole lines (each ending with '\n'), one or several per
// call (a logger batches consecutive lines up to PIPE_BUF, 4096 bytes, unless
// one line is longer), and writes each call's text with a single write, so
// lines from several threads never interleave.
// - fd_sink / stdout_sink(): one write(2) per call to a file descriptor; a
//   closed reader (EPIPE) neither kills the process (SIGPIPE is held back
//   for the call) nor blocks it: the sink reports once and discards further
//   lines. A write of at most PIPE_BUF (4096) bytes to a pipe is atomic, so
//   such lines never tear, even between processes sharing the pipe.
// - file_sink: appends to a file (O_APPEND).
// - ostream_sink: any std::ostream, for tests and embedding.
// - discard_sink: writes nothing.
// A logger calls its sink from its background writer thread (see logger.hpp),
// so a sink may block without blocking the training thread.
//
// \code
//   fitwatch::logger_options options;
//   options.output = std::make_shared<fitwatch::file_sink>("metrics.log");
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
  /// Writes one or more whole lines (each ending with '\n'). Never throws.
  virtual void write(std::string_view lines) noexcept = 0;
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
  /// The file descriptor written to.
  int fd() const noexcept { return fd_; }

 protected:
  int fd_;

 private:
  friend std::shared_ptr<fd_sink> stdout_sink();
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<bool> broken_{false};  // discard every line (reader gone, fd closed)
};

/// fd_sink on file descriptor 1 (what SageMaker sends to CloudWatch Logs).
/// If fd 1 was closed when the program started, or is closed now, the sink
/// discards every line (counted in failed()) and says so once: a file the
/// program opened since may have taken fd 1, and metric lines must not end
/// up in it. To write lines to a file, use file_sink.
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

/// Discards every line (a torchrun rank that must not write, see sagemaker.hpp).
class discard_sink : public sink {
 public:
  void write(std::string_view) noexcept override {}
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

}  // namespace fitwatch
