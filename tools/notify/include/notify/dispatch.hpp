// Where a transition's emails go: each alarm action that is a topic of the
// model emails every address subscribed to it, into an outbox of .eml
// files and, for `fitwatch watch --smtp`, through a real SMTP server.
//
// \code
//   fitwatch::notify::dispatcher d{model, {"outbox", {}}, std::cerr};
//   for (const auto& t : transitions)
//     for (const auto& e : d.dispatch(t)) std::cout << e.to << ": " << e.subject << "\n";
//   const std::size_t lost = d.finish();  // emails not written or not sent
// \endcode
//
// Thread safety: none; one dispatcher per replay.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"
#include "notify/email.hpp"
#include "notify/function_runner.hpp"
#include "notify/smtp.hpp"

namespace fitwatch::notify {

struct dispatch_options {
  /// A folder for one .eml file per email (created if missing); empty: none.
  std::string outbox;
  /// No url: no SMTP.
  smtp_options smtp;
};

/// One email of a transition.
struct delivery {
  std::string to;
  std::string subject;
  std::string file;   ///< the outbox file written; empty without an outbox or on error
  std::string error;  ///< why the outbox file could not be written; empty if it was
};

class dispatcher {
 public:
  /// `model` must outlive the dispatcher; failures are reported on `err`.
  /// \throw std::runtime_error if the outbox cannot be created,
  /// std::invalid_argument for bad SMTP options.
  dispatcher(const alarms::template_model& model, dispatch_options options, std::ostream& err);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  /// Renders and sends the emails of `t`, in the order of its actions and
  /// of each topic's subscriptions. The outbox file of the n-th email of
  /// the run is DIR/NNN-<alarm>-<state>-<to>.eml (characters other than
  /// letters, digits, '-', '.' and '@' become '_'). Never throws for a file
  /// that cannot be written: its delivery carries the error.
  std::vector<delivery> dispatch(const alarms::transition& t);

  /// An EMF line of the log, for the functions subscribed to the topics
  /// (the formatter reads the job's lines): visible to them from
  /// `visible_ms` (its timestamp plus the delivery delay). Kept only when
  /// some topic runs a function, at most the last 5,000 lines.
  void observe(const std::string& line, std::int64_t timestamp_ms, std::int64_t visible_ms);

  /// Emails rendered so far.
  std::size_t emails() const { return emails_; }
  /// Waits for SMTP (at most its timeout) and returns how many emails were
  /// not written or not sent, 0 if all were.
  std::size_t finish();

 private:
  const alarms::template_model& model_;
  dispatch_options options_;
  std::ostream& err_;
  std::unique_ptr<smtp_sender> smtp_;
  std::size_t emails_ = 0, unwritten_ = 0;
  bool functions_ = false;
  log_window lines_;

  void deliver(const email& e, const alarms::transition& t, std::vector<delivery>& out);
  void run_functions(const alarms::topic& tp, const alarms::transition& t,
                     std::vector<delivery>& out);
};

}  // namespace fitwatch::notify
