// Private: flushing queued lines when SIGTERM arrives.
#pragma once

#include <chrono>
#include <functional>

namespace fitwatch::detail {

/// Drains one logger within the timeout; false if it could not.
using drain_function = std::function<bool(std::chrono::milliseconds)>;

/// Installs the SIGTERM handler once per process (idempotent) and registers
/// `drain` (under the key `owner`) to run, within `timeout`, when SIGTERM
/// arrives.
void flush_on_sigterm(const void* owner, drain_function drain,
                      std::chrono::milliseconds timeout) noexcept;
/// Unregisters `owner`; after this returns no SIGTERM drain touches it.
void forget_on_sigterm(const void* owner) noexcept;

}  // namespace fitwatch::detail
