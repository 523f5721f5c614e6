// Private: what the library's own threads (the writer, the SIGTERM watcher)
// do about signals.
#pragma once

namespace fitwatch::detail {

/// Blocks every signal in the calling thread (signals are for the program's
/// threads, not the library's) and remembers that it did, so that a write
/// from this thread needs no SIGPIPE guard of its own.
void block_all_signals() noexcept;

/// True in a thread that called block_all_signals().
bool all_signals_blocked() noexcept;

}  // namespace fitwatch::detail
