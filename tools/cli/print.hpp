// How replay and watch print a transition and its emails: a few lines of
// text for a person, or one JSON object per line (--format json).
#pragma once

#include <iosfwd>
#include <vector>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"
#include "notify/dispatch.hpp"

namespace fitwatch::tools {

/// Text: the time, the alarm (and contributor), the state change and the
/// epoch; the reason; one line per email (its outbox file, or its subject).
void print_transition_text(std::ostream& out, const transition& t,
                           const std::vector<delivery>& emails);

/// One JSON object: time, time_ms, alarm, type, old_state, new_state,
/// reason, epoch, contributors/contributor_id (Metrics Insights), emails
/// ({to, subject, file or error}) and the SNS message CloudWatch publishes.
void print_transition_json(std::ostream& out, const transition& t,
                           const std::vector<delivery>& emails, const template_model& model);

}  // namespace fitwatch::tools
