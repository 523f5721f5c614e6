#include "notify/email.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "alarms/cloudwatch_text.hpp"

namespace fitwatch::notify {
namespace {

std::string join_actions(const std::vector<std::string>& actions) {
  if (actions.empty()) return "";
  std::string out = "[";
  for (std::size_t i = 0; i < actions.size(); ++i) out += (i > 0 ? ", " : "") + actions[i];
  return out + "]";
}

std::string describe_dimensions(const std::vector<std::pair<std::string, std::string>>& dims) {
  std::string out;
  for (const auto& [k, v] : dims)
    out += (out.empty() ? "" : " ") + std::string("[") + k + " = " + v + "]";
  return out;
}

std::string seconds_text(int period) {
  return std::to_string(period) + " seconds";
}

// "- Name:" lines with the values aligned in one column, as CloudWatch does.
std::string field(const std::string& label, const std::string& value, std::size_t width) {
  std::string line = "- " + label + ":";
  line.resize(std::max(line.size() + 1, width), ' ');
  return line + value + "\n";
}

}  // namespace

std::string sns_footer(const alarms::template_model& model, const alarms::topic& tp,
                       const std::string& recipient);

std::string region_name(const std::string& region) {
  // Every commercial Region, named as the AWS Regions table of the AWS
  // General Reference names it ("Regional endpoints"), as CloudWatch's
  // emails do (Europe's Regions read "EU (...)" in alarm emails).
  static const std::map<std::string, std::string> names = {
      {"us-east-1", "US East (N. Virginia)"},
      {"us-east-2", "US East (Ohio)"},
      {"us-west-1", "US West (N. California)"},
      {"us-west-2", "US West (Oregon)"},
      {"af-south-1", "Africa (Cape Town)"},
      {"ap-east-1", "Asia Pacific (Hong Kong)"},
      {"ap-east-2", "Asia Pacific (Taipei)"},
      {"ap-south-1", "Asia Pacific (Mumbai)"},
      {"ap-south-2", "Asia Pacific (Hyderabad)"},
      {"ap-northeast-1", "Asia Pacific (Tokyo)"},
      {"ap-northeast-2", "Asia Pacific (Seoul)"},
      {"ap-northeast-3", "Asia Pacific (Osaka)"},
      {"ap-southeast-1", "Asia Pacific (Singapore)"},
      {"ap-southeast-2", "Asia Pacific (Sydney)"},
      {"ap-southeast-3", "Asia Pacific (Jakarta)"},
      {"ap-southeast-4", "Asia Pacific (Melbourne)"},
      {"ap-southeast-5", "Asia Pacific (Malaysia)"},
      {"ap-southeast-6", "Asia Pacific (New Zealand)"},
      {"ap-southeast-7", "Asia Pacific (Thailand)"},
      {"ca-central-1", "Canada (Central)"},
      {"ca-west-1", "Canada West (Calgary)"},
      {"eu-central-1", "EU (Frankfurt)"},
      {"eu-central-2", "EU (Zurich)"},
      {"eu-west-1", "EU (Ireland)"},
      {"eu-west-2", "EU (London)"},
      {"eu-west-3", "EU (Paris)"},
      {"eu-south-1", "EU (Milan)"},
      {"eu-south-2", "EU (Spain)"},
      {"eu-north-1", "EU (Stockholm)"},
      {"il-central-1", "Israel (Tel Aviv)"},
      {"me-south-1", "Middle East (Bahrain)"},
      {"me-central-1", "Middle East (UAE)"},
      {"mx-central-1", "Mexico (Central)"},
      {"sa-east-1", "South America (Sao Paulo)"},
  };
  const auto it = names.find(region);
  return it == names.end() ? region : it->second;
}

email render_email(const alarms::transition& t, const alarms::template_model& model,
                   const alarms::topic& tp, const std::string& recipient) {
  email e;
  e.time_ms = t.time_ms;
  e.to = recipient;
  e.from = (tp.display_name.empty() ? std::string("AWS Notifications") : tp.display_name) +
           " <no-reply@sns.amazonaws.com>";
  const std::string region = region_name(model.region);
  const std::string state = to_string(t.new_state);
  // SNS subjects stay under 100 characters; CloudWatch shortens the name.
  // A contributor's notification names the contributor after the alarm
  // (fitwatch's layout: AWS publishes no sample of it); the contributor
  // keeps its room first, the alarm name at least 16 characters.
  const auto shorten = [](std::string& s, std::size_t room) {
    if (s.size() > room) s = s.substr(0, room - 3) + "...";
  };
  std::string name = t.alarm_name;
  // "[TrainingJobName = job]" without its brackets. Shortened in the
  // middle: tuning jobs' names differ only at the end (-001-a1b2c3d4).
  std::string who;
  if (t.contributor_level()) {
    who = describe_dimensions(t.contributor_attributes);
    who = who.substr(1, who.size() - 2);
  }
  // A dimension value comes from a log line: a CR or LF in it must not
  // end the Subject header (to_rfc5322 would refuse the whole email).
  for (char& c : who) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  const std::size_t room = 99 - state.size() - 4 - 4 - region.size();  // ': "', '"', " in "
  if (!who.empty()) {
    const std::size_t fits = room - std::min<std::size_t>(name.size(), 16) - 3;  // " [", "]"
    if (who.size() > fits) {
      const std::size_t head = (fits - 3) / 2;
      who = who.substr(0, head) + "..." + who.substr(who.size() - (fits - 3 - head));
    }
    who = " [" + who + "]";
  }
  shorten(name, room - who.size());
  const std::string tail = "\"" + who + " in " + region;
  e.subject = state + ": \"" + name + tail;

  const std::string when = alarms::email_time(t.time_ms);
  std::ostringstream b;
  if (t.contributor_level()) {
    b << "You are receiving this email because the contributor "
      << describe_dimensions(t.contributor_attributes) << " of your Amazon CloudWatch Alarm \""
      << t.alarm_name << "\" in the " << region << " region has entered the " << state
      << " state, because \"" << t.reason << "\" at \"" << when << "\".\n\n";
  } else if (t.composite) {
    b << "You are receiving this email because your Amazon CloudWatch Alarm \"" << t.alarm_name
      << "\" in the " << region << " region has transitioned to " << state << " state on " << when
      << ", because \"" << t.reason << "\".\n\n";
  } else {
    b << "You are receiving this email because your Amazon CloudWatch Alarm \"" << t.alarm_name
      << "\" in the " << region << " region has entered the " << state << " state, because \""
      << t.reason << "\" at \"" << when << "\".\n\n";
  }
  b << "View this alarm in the AWS Management Console:\n"
    << "https://" << model.region
    << ".console.aws.amazon.com/cloudwatch/deeplink.js?region=" << model.region
    << "#alarmsV2:alarm/" << t.alarm_name << "\n\n";
  const std::size_t w = 30;
  b << "Alarm Details:\n" << field("Name", t.alarm_name, w);
  if (t.contributor_level()) {
    b << field("Contributor", describe_dimensions(t.contributor_attributes), w)
      << field("Contributor Id", t.contributor_id, w);
  }
  b << field("Description", t.alarm->description, w)
    << field("State Change", to_string(t.old_state) + " -> " + state, w)
    << field("Reason for State Change", t.reason, w) << field("Timestamp", when, w)
    << field("AWS Account", model.account_id, w) << field("Alarm Arn", t.alarm_arn, w);
  if (t.composite) {
    b << field("Alarm Rule", t.composite->rule, w) << "\n";
    b << "Triggering children:\n";
    for (const auto& c : t.triggering_children) b << "- " << c << "\n";
    b << "\n";
  } else {
    const auto& a = *t.metric;
    b << "\nThreshold:\n"
      << "- The alarm is in the ALARM state when the metric is " << a.comparison << " "
      << alarms::java_double(a.threshold) << " for at least " << a.datapoints_to_alarm
      << " of the last " << a.evaluation_periods << " period(s) of " << seconds_text(a.period)
      << ".\n\n";
    const std::size_t mw = 39;
    if (a.metrics.empty()) {
      b << "Monitored Metric:\n"
        << field("MetricNamespace", a.ns, mw) << field("MetricName", a.metric_name, mw)
        << field("Dimensions", describe_dimensions(a.dimensions), mw)
        << field("Period", seconds_text(a.period), mw) << field("Statistic", a.statistic, mw)
        << field("Unit", a.unit ? *a.unit : "not specified", mw)
        << field("TreatMissingData", a.treat_missing_data, mw);
    } else {
      b << "Monitored Metrics:\n";
      for (const auto& q : a.metrics) {
        if (q.expression.empty()) {  // a MetricStat query
          b << field("MetricStat",
                     q.id + ": " + q.ns + " " + q.metric_name + " " +
                         describe_dimensions(q.dimensions) + " " + q.statistic,
                     mw);
        } else {
          b << field("MetricExpression", q.expression, mw);
        }
        b << field("MetricLabel", q.label.empty() ? q.id : q.label, mw);
      }
      if (!t.contributor_level() && !t.contributor.empty())
        b << field("Contributors in ALARM", t.contributor, mw);
      b << field("TreatMissingData", a.treat_missing_data, mw);
    }
    b << "\n";
  }
  b << "\nState Change Actions:\n"
    << "- OK: " << join_actions(t.alarm->ok_actions) << "\n"
    << "- ALARM: " << join_actions(t.alarm->alarm_actions) << "\n"
    << "- INSUFFICIENT_DATA: " << join_actions(t.alarm->insufficient_data_actions) << "\n\n\n"
    << sns_footer(model, tp, recipient);
  e.body = b.str();
  return e;
}

email render_published(const std::string& subject, const std::string& message, std::int64_t time_ms,
                       const alarms::template_model& model, const alarms::topic& tp,
                       const std::string& recipient) {
  email e;
  e.time_ms = time_ms;
  e.to = recipient;
  e.from = (tp.display_name.empty() ? std::string("AWS Notifications") : tp.display_name) +
           " <no-reply@sns.amazonaws.com>";
  // SNS: a Publish without Subject is emailed as "AWS Notification Message".
  e.subject = subject.empty() ? "AWS Notification Message" : subject;
  for (char& c : e.subject) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  e.body = message + (message.empty() || message.back() == '\n' ? "" : "\n") + "\n" +
           sns_footer(model, tp, recipient);
  return e;
}

std::string sns_footer(const alarms::template_model& model, const alarms::topic& tp,
                       const std::string& recipient) {
  std::ostringstream b;
  b << "--\n"
    << "If you wish to stop receiving notifications from this topic, please click or visit the "
       "link below to unsubscribe:\n"
    << "https://sns." << model.region
    << ".amazonaws.com/unsubscribe.html?SubscriptionArn=" << tp.arn
    << ":00000000-0000-0000-0000-000000000000&Endpoint=" << recipient << "\n\n"
    << "Please do not reply directly to this email. If you have any questions or comments "
       "regarding this email, please contact us at https://aws.amazon.com/support\n";
  return b.str();
}

std::string sns_message(const alarms::transition& t, const alarms::template_model& model) {
  using nlohmann::json;
  const auto dims = [](const std::vector<std::pair<std::string, std::string>>& d) {
    json out = json::array();
    for (const auto& [name, value] : d) out.push_back({{"value", value}, {"name", name}});
    return out;
  };
  // 2021-02-15T14:57:14.419+0000
  const std::string iso = alarms::iso_time(t.time_ms);  // "2021-02-15 14:57:14 UTC"
  const auto stamp = [](const std::string& iso) {
    return iso.size() == 23 ? iso.substr(0, 10) + "T" + iso.substr(11, 8) + ".000+0000" : iso;
  };
  const std::string when = stamp(iso);
  // The stack was deployed before the log began: the configuration time is
  // the first datapoint's (replay knows no earlier one).
  const std::string configured =
      stamp(alarms::iso_time(model.configured_ms ? model.configured_ms : t.time_ms));
  json m = {{"AlarmName", t.alarm_name},
            {"AlarmDescription",
             t.alarm->description.empty() ? json(nullptr) : json(t.alarm->description)},
            {"AWSAccountId", model.account_id},
            {"NewStateValue", to_string(t.new_state)},
            {"NewStateReason", t.reason},
            {"StateChangeTime", when},
            {"Region", region_name(model.region)},
            {"AlarmArn", t.alarm_arn},
            {"OldStateValue", to_string(t.old_state)},
            {"AlarmConfigurationUpdatedTimestamp", configured},
            {"OKActions", t.alarm->ok_actions},
            {"AlarmActions", t.alarm->alarm_actions},
            {"InsufficientDataActions", t.alarm->insufficient_data_actions}};
  if (t.contributor_level()) {
    m["AlarmContributorId"] = t.contributor_id;
    json attributes = json::object();
    for (const auto& [name, value] : t.contributor_attributes) attributes[name] = value;
    m["AlarmContributorAttributes"] = attributes;
  }
  if (t.composite) {
    m["AlarmRule"] = t.composite->rule;
    json children = json::array();
    for (const auto& c : t.triggering_children) {
      const auto arn = c.substr(0, c.find(' '));
      children.push_back(
          {{"Arn", arn}, {"State", {{"Value", to_string(t.new_state)}, {"Timestamp", when}}}});
    }
    m["TriggeringChildren"] = children;
    return m.dump();
  }
  const auto& a = *t.metric;
  // The Trigger fields of "Schema of Amazon SNS notifications when alarms
  // change state" (CloudWatch user guide): StatisticType "Statistic" or
  // "ExtendedStatistic" (percentiles), EvaluateLowSampleCountPercentile
  // ("" unless set on a percentile alarm); the alarm's
  // AlarmConfigurationUpdatedTimestamp beside it, in the message itself.
  json trigger = {{"Period", a.period},
                  {"EvaluationPeriods", a.evaluation_periods},
                  {"DatapointsToAlarm", a.datapoints_to_alarm},
                  {"ComparisonOperator", a.comparison},
                  {"Threshold", a.threshold},
                  {"TreatMissingData", a.treat_missing_data}};
  trigger["EvaluateLowSampleCountPercentile"] = "";
  if (a.metrics.empty()) {
    const bool extended = !a.statistic.empty() && (a.statistic[0] == 'p' || a.statistic[0] == 'P');
    trigger["MetricName"] = a.metric_name;
    trigger["Namespace"] = a.ns;
    trigger["StatisticType"] = extended ? "ExtendedStatistic" : "Statistic";
    if (extended) {
      trigger["ExtendedStatistic"] = a.statistic;
    } else {
      std::string upper;  // SampleCount -> SAMPLE_COUNT, as the messages write it
      for (const char c : a.statistic) {
        if (!upper.empty() && std::isupper(static_cast<unsigned char>(c))) upper += '_';
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      trigger["Statistic"] = upper;
    }
    trigger["Unit"] = a.unit ? json(*a.unit) : json(nullptr);
    trigger["Dimensions"] = dims(a.dimensions);
  } else {
    json metrics = json::array();
    for (const auto& q : a.metrics) {
      json x = {{"Id", q.id}, {"ReturnData", q.return_data}};
      if (!q.label.empty()) x["Label"] = q.label;
      if (q.expression.empty()) {
        x["MetricStat"] = {{"Metric",
                            {{"Namespace", q.ns},
                             {"MetricName", q.metric_name},
                             {"Dimensions", dims(q.dimensions)}}},
                           {"Period", q.period},
                           {"Stat", q.statistic}};
      } else {
        x["Expression"] = q.expression;
      }
      metrics.push_back(x);
    }
    trigger["Metrics"] = metrics;
  }
  m["Trigger"] = trigger;
  return m.dump();
}

std::string to_rfc5322(const email& e) {
  // A CR or LF in a header value would start a new header (Bcc: ...): the
  // template reader refuses such values, and this is the last line of defence.
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"From", &e.from},
                                    {"To", &e.to},
                                    {"Subject", &e.subject}}) {
    for (const char c : *value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        throw std::invalid_argument(std::string("email header ") + name +
                                    " contains a control character");
      }
    }
  }
  const auto crlf = [](const std::string& text) {
    std::string out;
    for (const char c : text) {
      if (c == '\n') out += '\r';
      out += c;
    }
    return out;
  };
  bool ascii = true;
  for (const char c : e.subject) ascii &= static_cast<unsigned char>(c) < 0x80;
  std::string subject = e.subject;
  if (!ascii) {  // RFC 2047 encoded-word, base64
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string enc;
    for (std::size_t i = 0; i < e.subject.size(); i += 3) {
      unsigned n = static_cast<unsigned char>(e.subject[i]) << 16;
      if (i + 1 < e.subject.size()) n |= static_cast<unsigned char>(e.subject[i + 1]) << 8;
      if (i + 2 < e.subject.size()) n |= static_cast<unsigned char>(e.subject[i + 2]);
      enc += b64[(n >> 18) & 63];
      enc += b64[(n >> 12) & 63];
      enc += i + 1 < e.subject.size() ? b64[(n >> 6) & 63] : '=';
      enc += i + 2 < e.subject.size() ? b64[n & 63] : '=';
    }
    subject = "=?UTF-8?B?" + enc + "?=";
  }
  const std::time_t t = static_cast<std::time_t>(e.time_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string id = std::to_string(e.time_ms) + "." +
                   std::to_string(std::hash<std::string>{}(e.to + e.subject)) + "@fitwatch.replay";
  std::string msg = "From: " + e.from + "\nTo: " + e.to + "\nSubject: " + subject +
                    "\nDate: " + date + "\nMessage-ID: <" + id + ">\nMIME-Version: 1.0\n" +
                    "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n" +
                    e.body;
  return crlf(msg);
}

}  // namespace fitwatch::notify
