#include "notify/smtp.hpp"

#if FITWATCH_SMTP
#include <curl/curl.h>
#endif

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace fitwatch::notify {
namespace {

bool starts_with_ci(const std::string& s, const char* prefix) {
  const std::size_t n = std::strlen(prefix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// Where the authority (user:password@host:port) of a URL ends.
std::size_t authority_end(const std::string& url, std::size_t start) {
  const auto end = url.find_first_of("/?#", start);
  return end == std::string::npos ? url.size() : end;
}

bool has_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto start = scheme + 3;
  const auto end = authority_end(url, start);
  const auto at = url.rfind('@', end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

bool plain_address(const std::string& a) {
  if (a.empty() || a.size() > 320 || has_control(a)) return false;
  if (a.find_first_of(" <>,\"\\()[];:") != std::string::npos) return false;
  const auto at = a.find('@');
  return at != std::string::npos && at > 0 && at + 1 < a.size() &&
         a.find('@', at + 1) == std::string::npos;
}

void check_smtp_options(const smtp_options& o) {
  const std::string shown = redact_url(o.url);
  if (!starts_with_ci(o.url, "smtp://") && !starts_with_ci(o.url, "smtps://")) {
    throw std::invalid_argument("--smtp " + shown +
                                ": only smtp:// and smtps:// URLs are accepted");
  }
  if (has_control(o.url))
    throw std::invalid_argument("--smtp: the URL contains a control character");
  const auto start = o.url.find("://") + 3;
  if (o.url.find('@', start) < authority_end(o.url, start)) {
    throw std::invalid_argument(
        "--smtp " + shown +
        ": no user or password in the URL (visible in ps and logs); use --smtp-user and "
        "--smtp-password-file FILE or the FITWATCH_SMTP_PASSWORD environment variable");
  }
  if (!plain_address(o.from)) {
    throw std::invalid_argument(
        "--from: not a plain email address (no spaces, control characters, <, >, quotes)");
  }
  if (has_control(o.user)) throw std::invalid_argument("--smtp-user contains a control character");
  if (o.user.empty() != o.password.empty()) {
    throw std::invalid_argument(o.user.empty()
                                    ? "a SMTP password needs --smtp-user"
                                    : "--smtp-user needs a password: --smtp-password-file FILE or "
                                      "the FITWATCH_SMTP_PASSWORD environment variable");
  }
  if (o.timeout.count() < 1) throw std::invalid_argument("--smtp-timeout must be at least 1 s");
}

struct smtp_sender::state {
  smtp_options o;
  std::string shown_url;
  std::ostream* err;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<email> queue;
  bool busy = false;
  std::atomic<bool> stop{false};
  std::size_t sent = 0, failed = 0;
  std::thread worker;

#if FITWATCH_SMTP
  struct payload {
    std::string text;
    std::size_t at = 0;
  };
  static std::size_t read(char* buf, std::size_t size, std::size_t n, void* user) {
    auto* p = static_cast<payload*>(user);
    const std::size_t len = std::min(size * n, p->text.size() - p->at);
    std::memcpy(buf, p->text.data() + p->at, len);
    p->at += len;
    return len;
  }
  // Non-zero aborts the transfer: the end of the run stops an attempt in flight.
  static int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<state*>(user)->stop.load() ? 1 : 0;
  }

  // One attempt; returns the error text, empty on success.
  std::string attempt(const email& e) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return "curl_easy_init failed";
    payload p{to_rfc5322(e)};
    char error[CURL_ERROR_SIZE] = "";
    curl_slist* rcpt = curl_slist_append(nullptr, ("<" + e.to + ">").c_str());
    const long t = static_cast<long>(o.timeout.count());
    curl_easy_setopt(curl, CURLOPT_URL, o.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    // TLS: smtps:// from the start, smtp:// through STARTTLS, required
    // unless --smtp-insecure (CURLUSESSL_ALL fails if the server lacks it).
    curl_easy_setopt(curl, CURLOPT_USE_SSL, o.insecure ? CURLUSESSL_NONE : CURLUSESSL_ALL);
    if (!o.user.empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, o.user.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, o.password.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, ("<" + o.from + ">").c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &state::read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &p);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    // A server that accepts and never answers: connect, low-speed and total
    // timeouts, so no email waits forever.
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, std::min(t, 10L));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, t);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 2 * t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &state::progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK) return "";
    if (rc == CURLE_ABORTED_BY_CALLBACK) return "stopped at the end of the run";
    std::string text = curl_easy_strerror(rc);
    if (error[0] != '\0') text += std::string(" (") + error + ")";
    return text;
  }

#else
  // Built without SMTP (FITWATCH_SMTP=OFF): the constructor refuses --smtp.
  std::string attempt(const email&) {
    return "built without SMTP";
  }
#endif

  void report(const email& e, const std::string& why) {
    *err << "fitwatch watch: could not send \"" << e.subject << "\" to " << e.to << " via "
         << shown_url << ": " << why << "\n";
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      changed.wait(lock, [&] { return stop || !queue.empty(); });
      if (stop) return;
      email e = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      std::string error;
      int tries = 1;
      if (!plain_address(e.to)) {
        error = "not a plain email address";
      } else {
        for (;; ++tries) {
          error = attempt(e);
          if (error.empty() || tries == 3 || stop) break;
          std::unique_lock<std::mutex> pause(mutex);
          changed.wait_for(pause, std::chrono::seconds(tries), [&] { return stop.load(); });
        }
      }
      lock.lock();
      busy = false;
      if (error.empty()) {
        ++sent;
      } else {
        ++failed;
        report(e, error + " (" + std::to_string(tries) + (tries == 1 ? " attempt)" : " attempts)"));
      }
      changed.notify_all();
    }
  }
};

smtp_sender::smtp_sender(smtp_options o, std::ostream& err) : state_(std::make_shared<state>()) {
  check_smtp_options(o);
#if FITWATCH_SMTP
  curl_global_init(CURL_GLOBAL_DEFAULT);
#else
  throw std::invalid_argument(
      "--smtp: this fitwatch was built without SMTP (the Python wheel's command): write the "
      "emails with --outbox, or use the full build (docs/python.md)");
#endif
  state_->shown_url = redact_url(o.url);
  state_->o = std::move(o);
  state_->err = &err;
  state_->worker = std::thread([s = state_] { s->run(); });
}

smtp_sender::~smtp_sender() {
  if (!finished_) finish();
}

std::size_t smtp_sender::finish() {
  finished_ = true;
  std::deque<email> unsent;
  {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->changed.wait_for(lock, state_->o.timeout,
                             [&] { return state_->queue.empty() && !state_->busy; });
    state_->stop = true;
    unsent.swap(state_->queue);
  }
  state_->changed.notify_all();
  state_->worker.join();  // an attempt in flight is aborted and reported
  const std::lock_guard<std::mutex> lock(state_->mutex);
  for (const auto& e : unsent) {
    state_->report(e, "still queued after waiting " + std::to_string(state_->o.timeout.count()) +
                          " s at the end of the run");
  }
  state_->failed += unsent.size();
  return state_->failed;
}

void smtp_sender::send(const email& e) {
  {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    state_->queue.push_back(e);
  }
  state_->changed.notify_all();
}

std::size_t smtp_sender::sent() const {
  const std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->sent;
}

std::size_t smtp_sender::failed() const {
  const std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->failed;
}

}  // namespace fitwatch::notify
