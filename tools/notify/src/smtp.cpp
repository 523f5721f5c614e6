#include "notify/smtp.hpp"

#include <curl/curl.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace fitwatch::tools {

struct smtp_sender::state {
  std::string url, from;
  std::ostream* err;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<email> queue;
  bool stop = false, busy = false;
  std::size_t sent = 0, failed = 0;
  std::thread worker;

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

  // One attempt; returns the error text, empty on success.
  std::string attempt(const email& e) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return "curl_easy_init failed";
    payload p{to_rfc5322(e)};
    curl_slist* rcpt = curl_slist_append(nullptr, ("<" + e.to + ">").c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, ("<" + from + ">").c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &state::read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &p);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    return rc == CURLE_OK ? std::string() : curl_easy_strerror(rc);
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      changed.wait(lock, [&] { return stop || !queue.empty(); });
      if (queue.empty()) return;
      email e = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      std::string error;
      for (int tries = 1; tries <= 3; ++tries) {
        error = attempt(e);
        if (error.empty() || tries == 3) break;
        std::this_thread::sleep_for(std::chrono::seconds(tries));
      }
      lock.lock();
      busy = false;
      if (error.empty()) {
        ++sent;
      } else {
        ++failed;
        *err << "fitwatch watch: could not send \"" << e.subject << "\" to " << e.to << " via "
             << url << " after 3 attempts: " << error << "\n";
      }
      changed.notify_all();
    }
  }
};

smtp_sender::smtp_sender(std::string url, std::string from, std::ostream& err)
    : state_(std::make_shared<state>()) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  state_->url = std::move(url);
  state_->from = std::move(from);
  state_->err = &err;
  state_->worker = std::thread([s = state_] { s->run(); });
}

smtp_sender::~smtp_sender() {
  {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->changed.wait_for(lock, std::chrono::seconds(30),
                             [&] { return state_->queue.empty() && !state_->busy; });
    state_->stop = true;
    state_->queue.clear();
  }
  state_->changed.notify_all();
  state_->worker.join();
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

}  // namespace fitwatch::tools
