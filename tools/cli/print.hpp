// How replay and watch print a transition and its emails: a few lines of
// text for a person, or one JSON object per line (--format json).
#pragma once

#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"
#include "notify/dispatch.hpp"

namespace fitwatch::cli {

/// Which transitions the text output shows (replay and watch without
/// --verbose): what a person acts on. A change to ALARM; a return to OK of
/// an alarm (or a Metrics Insights contributor) that was in ALARM since its
/// last OK; and any transition that sent or wrote an email. Left out: the
/// first INSUFFICIENT_DATA -> OK of every alarm, and changes to
/// INSUFFICIENT_DATA, whose long reason texts looked as if something had
/// happened. --verbose and --format json keep every transition.
class transition_filter {
 public:
  explicit transition_filter(bool verbose) : verbose_(verbose) {}
  /// Whether to print `t`; call it for every transition, in order (it
  /// remembers which alarms are in ALARM).
  bool shows(const alarms::transition& t, const std::vector<notify::delivery>& emails);
  /// Transitions left out so far.
  std::size_t hidden() const { return hidden_; }

 private:
  bool verbose_;
  std::set<std::string> in_alarm_;  ///< alarm name + contributor, in ALARM since their last OK
  std::size_t hidden_ = 0;
};

/// Text: the time, the alarm (and contributor), the state change and the
/// epoch; the reason; one line per email (its outbox file, or its subject).
void print_transition_text(std::ostream& out, const alarms::transition& t,
                           const std::vector<notify::delivery>& emails);

/// One JSON object: time, time_ms, alarm, type, old_state, new_state,
/// reason, epoch, contributors/contributor_id (Metrics Insights), emails
/// ({to, subject, file or error}) and the SNS message CloudWatch publishes.
void print_transition_json(std::ostream& out, const alarms::transition& t,
                           const std::vector<notify::delivery>& emails,
                           const alarms::template_model& model);

}  // namespace fitwatch::cli
