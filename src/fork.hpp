// Private: what happens to the library's state when the process forks.
//
// fork() copies only the calling thread. The library's own threads (each
// logger's writer, the SIGTERM watcher, the diagnostics thread) do not exist
// in the child, while their locks and queues are copied as they were. One
// set of pthread_atfork handlers takes every lock of the library before the
// fork, in the one order the library takes them (SIGTERM registry, loggers,
// each logger's values then its queue, the diagnostics queue), and releases
// them after it in both processes. In the child, each module then forgets
// the threads it no longer has:
// - SIGTERM: the child gets the program's previous SIGTERM action back and
//   no longer holds the parent's wake pipe, so a SIGTERM sent to the child
//   ends the child (or runs the program's own handler), never the parent.
// - loggers: evaluations still queued belong to the parent (which writes
//   them); the child's copy of each logger writes synchronously, on the
//   calling thread, with its own serializer.
// - diagnostics: the queue is the parent's; the child starts its own thread
//   when it first reports.
#pragma once

namespace fitwatch::detail {

/// Registers the handlers (once per process; idempotent, cheap after the first call).
void watch_forks() noexcept;

// Each module's part, called by the handlers in fork.cpp, in order.
void sigterm_before_fork() noexcept;
void sigterm_after_fork(bool child) noexcept;
void loggers_before_fork() noexcept;
void loggers_after_fork(bool child) noexcept;
void reports_before_fork() noexcept;
void reports_after_fork(bool child) noexcept;

}  // namespace fitwatch::detail
