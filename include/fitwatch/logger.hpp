// fitwatch: the logger, the API training code uses.
//
// A logger writes one CloudWatch Embedded Metric Format line per evaluation
// (per flush) to stdout, from where SageMaker ships it to CloudWatch Logs
// (/aws/sagemaker/TrainingJobs) and CloudWatch turns it into metrics. It
// makes no AWS API call: no credentials, no network, no blocking I/O on the
// training thread.
//
// The pipeline: put()/set() record values; flush() moves them, as one
// binary frame, into a bounded queue; a background writer thread turns each
// frame into EMF lines of at most options::max_line_bytes (PIPE_BUF, 4096,
// by default; a larger evaluation is split over several lines) and writes
// them to the sink (stdout by default) with one write(2) of whole lines, at
// most PIPE_BUF bytes, so lines never tear on a pipe shared with other
// processes. The training thread never formats a number or waits for a
// reader of stdout or stderr: when the queue is full, overflow_policy
// decides (drop the oldest evaluation by default), and drops are counted
// and reported; reports are only queued (error.hpp).
//
// clang-format off
// \code
//   fitwatch::logger_options options;
//   options.namespace_name = "MyTraining";
//   fitwatch::logger log{options};
//   const auto val = log.metric("ValidationLoss", fitwatch::unit::none, fitwatch::resolution::high);
//   const auto epoch = log.property("epoch");
//   for (int e = 0; e < epochs; ++e) {
//     log.set(epoch, std::int64_t{e});
//     log.put(val, evaluate());
//     log.flush();  // one EMF line
//   }
// \endcode
// clang-format on
//
// Default dimension: TrainingJobName, taken from the SageMaker environment
// (TRAINING_JOB_NAME, else job_name in SM_TRAINING_ENV, else
// options::job_name, else "local"). The host (SM_CURRENT_HOST) is written as
// the property "Host", not as a dimension, so that every host of a
// multi-host job feeds the same metric: alarms aggregate them with Maximum
// or Average and neither miss nor double-count (docs/library.md, "Multi-host jobs").
// set_dimensions() replaces the defaults; options::default_dimensions=false
// turns them off.
//
// Errors: declarations (metric, property, set_dimensions, the constructor)
// throw fitwatch::error; put, set, flush and the destructor never throw. Bad
// values follow record.hpp: NaN and infinities are dropped, counted and
// reported at most once a second on stderr (from fitwatch's own thread).
//
// Thread safety: every member function may be called from several threads;
// no concurrent call causes a data race. Declarations and values share one
// mutex, held for a few hundred nanoseconds per call.
//
// Shutdown: the destructor writes pending values and waits (bounded) for the
// queue to drain. With options::flush_on_sigterm (the default) a SIGTERM
// (SageMaker's StopTrainingJob) first flushes every live logger's queue,
// within options::sigterm_timeout, then takes the program's previous SIGTERM
// action.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fitwatch/limits.hpp"
#include "fitwatch/record.hpp"
#include "fitwatch/sagemaker.hpp"
#include "fitwatch/sink.hpp"
#include "fitwatch/unit.hpp"

namespace fitwatch {

/// The namespace fitwatch's metrics go to unless told otherwise.
inline constexpr std::string_view default_namespace = "FitWatch";

/// What flush() does when the queue of evaluations is full (the reader of
/// stdout is not keeping up).
enum class overflow_policy : std::uint8_t {
  block,        ///< wait for room (the training thread may stall)
  drop_oldest,  ///< discard the oldest queued evaluation (default: newest data wins)
  drop_newest,  ///< discard the evaluation being flushed
};

struct logger_options {
  std::string namespace_name{default_namespace};
  /// The TrainingJobName used when the SageMaker environment has none.
  std::string job_name;
  /// Dimension set [TrainingJobName] and property Host.
  bool default_dimensions = true;
  /// Where lines go; default: stdout, except in a torchrun job (RANK set),
  /// where only global rank 0 writes and other ranks discard their lines,
  /// unless FITWATCH_WRITE_RANKS=all (sagemaker.hpp, environment_writes_metrics()).
  std::shared_ptr<sink> output;
  /// Serialize and write on a background thread (default). When false,
  /// flush() writes on the calling thread (for tools and tests).
  bool background_writer = true;
  /// The longest EMF line, newline included. The default, PIPE_BUF, keeps
  /// every line one atomic write(2): lines of processes sharing one pipe
  /// (ranks of one job, `cmd > log 2>&1`) never tear. An evaluation that
  /// does not fit is split over several lines with the same dimensions and
  /// timestamp (EMF: each line is one event); properties that do not fit
  /// are left out and reported. 1024..1048576 (1 MB, the EMF event limit).
  std::size_t max_line_bytes = limits::pipe_buf;
  /// Evaluations the queue holds at most, and what happens when it is full.
  std::size_t queue_capacity = 1024;
  overflow_policy overflow = overflow_policy::drop_oldest;
  /// Flush queued lines when the process receives SIGTERM.
  bool flush_on_sigterm = true;
  std::chrono::milliseconds sigterm_timeout{10000};
  /// How long the destructor waits for queued lines to be written.
  std::chrono::milliseconds shutdown_timeout{5000};
};

class logger {
 public:
  /// \throw error on an invalid namespace or job name, queue_capacity 0, or
  /// max_line_bytes out of range.
  explicit logger(logger_options options = {});
  /// Flushes pending values and waits (bounded) for the sink.
  ~logger();
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  /// Declares a metric once; returns a handle for put(). Declaring the same
  /// name again with the same unit and resolution returns the same handle.
  /// \throw error on an invalid name or a conflicting declaration.
  metric_id metric(std::string_view name, unit u = unit::none, resolution r = resolution::standard);
  /// Declares a property. \throw error on an invalid or conflicting name.
  property_id property(std::string_view name);
  /// Replaces every dimension set (including the default one).
  /// \throw error as record::set_dimensions.
  void set_dimensions(const std::vector<dimension_set>& sets);
  /// Adds a dimension set. \throw error as record::set_dimensions.
  void add_dimensions(const dimension_set& set);

  /// Records a value; no lookup, no allocation once the loop is warm.
  void put(metric_id id, double value) noexcept;
  void set(property_id id, double value) noexcept;
  void set(property_id id, std::int64_t value) noexcept;
  void set(property_id id, bool value) noexcept;
  void set(property_id id, std::string_view value) noexcept;
  void set(property_id id, const char* value) noexcept { set(id, std::string_view{value}); }

  /// Writes the pending values as one EMF line (more if limits force a
  /// split), stamped with the current time.
  void flush() noexcept;
  /// As flush(), stamped with the given time (ms since the epoch). A
  /// negative time, which EMF cannot carry, is reported and the line is
  /// stamped with the current time.
  void flush_at(std::int64_t timestamp_ms) noexcept;
  /// Waits until every flushed evaluation has been written and the sink
  /// flushed, or the timeout; false on timeout.
  bool drain(std::chrono::milliseconds timeout) noexcept;

  /// Values dropped so far (not finite).
  std::uint64_t dropped_values() const noexcept;
  /// Evaluations dropped so far because the queue was full.
  std::uint64_t dropped_evaluations() const noexcept;
  /// The environment the logger found at construction.
  const sagemaker_environment& environment() const noexcept;
  /// The TrainingJobName dimension value in use.
  const std::string& job_name() const noexcept;
  const std::string& namespace_name() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the writer thread
};

}  // namespace fitwatch
