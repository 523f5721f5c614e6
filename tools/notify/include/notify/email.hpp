// The notification email CloudWatch sends through SNS when an alarm changes
// state, rendered from a replayed transition (the layout of real delivered
// emails; see docs/replay.md), and written as RFC 5322 messages.
#pragma once

#include <cstdint>
#include <string>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"

namespace fitwatch::notify {

struct email {
  std::string from, to, subject, body;
  std::int64_t time_ms = 0;
};

/// "US East (N. Virginia)" for "us-east-1"; the code itself if unknown.
std::string region_name(const std::string& region);

/// The email `recipient` of `topic` receives for `t`.
email render_email(const alarms::transition& t, const alarms::template_model& model,
                   const alarms::topic& tp, const std::string& recipient);

/// The email `recipient` of `tp` receives when a function publishes
/// `subject` and `message` to it at `time_ms` (SNS's email: the subject,
/// the message as the body, SNS's unsubscribe footer).
email render_published(const std::string& subject, const std::string& message, std::int64_t time_ms,
                       const alarms::template_model& model, const alarms::topic& tp,
                       const std::string& recipient);

/// The JSON message CloudWatch publishes to the topic for `t` (what a
/// Lambda or HTTP subscriber receives; "Schema of Amazon SNS notifications
/// when alarms change state" in the CloudWatch user guide): AlarmName,
/// AlarmDescription (null if unset), AWSAccountId, NewStateValue,
/// NewStateReason, StateChangeTime, Region, AlarmArn, OldStateValue, the
/// three action lists, and Trigger (metric alarms) or AlarmRule and
/// TriggeringChildren (composite). A Metrics Insights contributor's
/// notification adds AlarmContributorId and AlarmContributorAttributes
/// (fitwatch's reading, named as in DescribeAlarmHistory's AlarmHistoryItem:
/// AWS publishes no sample of it).
std::string sns_message(const alarms::transition& t, const alarms::template_model& model);

/// The message as RFC 5322 text (CRLF line ends, UTF-8 body, encoded subject).
/// \throw std::invalid_argument if From, To or Subject holds a control
/// character (CR/LF would inject headers).
std::string to_rfc5322(const email& e);

}  // namespace fitwatch::notify
