// Private: flushing queued lines when SIGTERM arrives.
#pragma once

#include <chrono>

namespace fitwatch {
class sink;
}

namespace fitwatch::detail {

/// Installs the SIGTERM handler once per process (idempotent) and registers
/// `s` to be flushed, within `timeout`, when SIGTERM arrives.
void flush_on_sigterm(sink* s, std::chrono::milliseconds timeout) noexcept;
/// Unregisters `s`; after this returns no SIGTERM flush touches it.
void forget_on_sigterm(sink* s) noexcept;

}  // namespace fitwatch::detail
