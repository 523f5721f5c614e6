#include "print.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "alarms/cloudwatch_text.hpp"
#include "diagnose.hpp"
#include "notify/email.hpp"

namespace fitwatch::cli {

bool transition_filter::shows(const alarms::transition& t,
                              const std::vector<notify::delivery>& emails) {
  // A contributor's own transition is keyed apart from its alarm's.
  std::string key = t.alarm_name;
  key.push_back('\0');
  key += t.contributor_level() ? t.contributor_id : std::string();
  bool show = !emails.empty();
  if (t.new_state == alarms::alarm_state::alarm) {
    in_alarm_.insert(key);
    show = true;
  } else if (t.new_state == alarms::alarm_state::ok) {
    show = in_alarm_.erase(key) > 0 || show;
  }
  if (verbose_) return true;
  if (!show) ++hidden_;
  return show;
}

void print_transition_text(std::ostream& out, const alarms::transition& t,
                           const std::vector<notify::delivery>& emails) {
  out << alarms::iso_time(t.time_ms) << "  " << t.alarm_name
      << (t.contributor_level() ? " [" + printable(t.contributor) + "]" : "") << "  "
      << to_string(t.old_state) << " -> " << to_string(t.new_state);
  if (t.epoch) out << "  (epoch " << *t.epoch << ")";
  out << "\n    " << printable(t.reason) << "\n";
  for (const auto& e : emails)
    out << "    email to " << e.to << ": " << (e.file.empty() ? e.subject : e.file) << "\n";
}

void print_transition_json(std::ostream& out, const alarms::transition& t,
                           const std::vector<notify::delivery>& emails,
                           const alarms::template_model& model) {
  using nlohmann::json;
  json list = json::array();
  for (const auto& e : emails) {
    json entry = {{"to", e.to}, {"subject", e.subject}};
    if (!e.file.empty()) entry["file"] = e.file;
    if (!e.error.empty()) entry["error"] = e.error;
    list.push_back(std::move(entry));
  }
  json j = {{"time", alarms::iso_time(t.time_ms)},
            {"time_ms", t.time_ms},
            {"alarm", t.alarm_name},
            {"type", t.composite ? "composite" : "metric"},
            {"old_state", to_string(t.old_state)},
            {"new_state", to_string(t.new_state)},
            {"reason", t.reason},
            {"emails", std::move(list)}};
  j["epoch"] = t.epoch ? json(*t.epoch) : json(nullptr);
  if (!t.contributor.empty()) j["contributors"] = t.contributor;
  if (t.contributor_level()) j["contributor_id"] = t.contributor_id;
  j["sns_message"] = json::parse(notify::sns_message(t, model));
  // Names and reasons come from the template and the log: invalid UTF-8 is
  // replaced (U+FFFD), never an exception after part of the output.
  out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
}

}  // namespace fitwatch::cli
