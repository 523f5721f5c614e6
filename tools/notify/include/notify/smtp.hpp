// Sending rendered alarm emails through a real SMTP server (libcurl), for
// `fitwatch watch --smtp`: a background thread, retries, bounded waits,
// never fatal to the log it watches; every email not sent is reported.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "notify/email.hpp"

namespace fitwatch::notify {

struct smtp_options {
  /// smtp://host[:port] (STARTTLS required unless `insecure`) or
  /// smtps://host[:port] (TLS from the start). No credentials in it: they
  /// would show in `ps` and in every message.
  std::string url;
  std::string from = "fitwatch@localhost";  ///< the envelope sender
  std::string user;                         ///< empty: no AUTH
  std::string password;                     ///< read from a file or the environment
  bool insecure = false;                    ///< allow smtp:// without TLS (a local relay)
  /// The longest one attempt may take (connect, and any stall); also how
  /// long the end of the run waits for emails still queued.
  std::chrono::seconds timeout{30};
};

/// \throw std::invalid_argument for a URL that is not smtp:// or smtps://,
/// carries credentials, or a sender that is not a plain address. The
/// message never contains the password.
void check_smtp_options(const smtp_options& o);

/// The URL with any user:password@ replaced by ***@, for messages.
std::string redact_url(const std::string& url);

/// True if `address` can go into an SMTP envelope and an email header: no
/// control character (CR, LF...), no space, no <, >, comma or quote, one @.
bool plain_address(const std::string& address);

class smtp_sender {
 public:
  /// Failures are written to `err` (never thrown). \throw std::invalid_argument
  /// as check_smtp_options.
  smtp_sender(smtp_options o, std::ostream& err);
  /// finish(), if not called yet.
  ~smtp_sender();
  smtp_sender(const smtp_sender&) = delete;
  smtp_sender& operator=(const smtp_sender&) = delete;
  void send(const email& e);
  /// Waits at most `timeout` for the queued emails, stops the sender
  /// (aborting an attempt in flight), reports each email that was not sent
  /// and returns how many were not sent (failed or given up), 0 if all were.
  std::size_t finish();
  std::size_t sent() const;
  std::size_t failed() const;

 private:
  struct state;
  std::shared_ptr<state> state_;
  bool finished_ = false;
};

}  // namespace fitwatch::notify
