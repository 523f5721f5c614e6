// Sending rendered alarm emails through a real SMTP server (libcurl), for
// `fitwatch watch --smtp`: a background thread, retries, never fatal.
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "notify/email.hpp"

namespace fitwatch::tools {

class smtp_sender {
 public:
  /// url: smtp://host:port; from: the envelope sender. Failures are written
  /// to `err` (never thrown).
  smtp_sender(std::string url, std::string from, std::ostream& err);
  /// Waits (bounded, 30 s) for queued emails, then stops.
  ~smtp_sender();
  smtp_sender(const smtp_sender&) = delete;
  smtp_sender& operator=(const smtp_sender&) = delete;
  void send(const email& e);
  std::size_t sent() const;
  std::size_t failed() const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace fitwatch::tools
