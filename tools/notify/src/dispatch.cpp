#include "notify/dispatch.hpp"

#include <cctype>
#include <cstdio>
#include <ostream>

#include "notify/outbox.hpp"

namespace fitwatch::notify {
namespace {

// A file-name-safe form of an alarm name or an address.
std::string file_name_part(const std::string& s) {
  std::string out;
  for (const char c : s)
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '@' ? c : '_';
  return out;
}

}  // namespace

dispatcher::dispatcher(const alarms::template_model& model, dispatch_options options,
                       std::ostream& err)
    : model_(model), options_(std::move(options)), err_(err) {
  if (!options_.outbox.empty()) make_outbox(options_.outbox);
  if (!options_.smtp.url.empty()) smtp_ = std::make_unique<smtp_sender>(options_.smtp, err_);
  for (const auto& tp : model_.topics) functions_ |= !tp.functions.empty();
}

dispatcher::~dispatcher() = default;

void dispatcher::observe(const std::string& line, std::int64_t timestamp_ms,
                         std::int64_t visible_ms) {
  if (functions_) lines_.add(line, timestamp_ms, visible_ms);
}

void dispatcher::deliver(const email& e, const alarms::transition& t, std::vector<delivery>& out) {
  delivery d{e.to, e.subject, {}, {}};
  ++emails_;
  if (!options_.outbox.empty()) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%03zu", emails_);
    const std::string path = options_.outbox + "/" + prefix + "-" + file_name_part(t.alarm_name) +
                             "-" + to_string(t.new_state) + "-" + file_name_part(e.to) + ".eml";
    d.error = write_outbox_file(path, to_rfc5322(e));
    if (d.error.empty()) {
      d.file = path;
    } else {
      ++unwritten_;
      err_ << "fitwatch: cannot write " << path << ": " << d.error << "\n";
    }
  }
  if (smtp_) smtp_->send(e);
  out.push_back(std::move(d));
}

// The functions subscribed to `tp` run on the alarm's message; what they
// publish to a topic of the model is emailed to its subscribers (one hop:
// a function's own publishes do not run further functions).
void dispatcher::run_functions(const alarms::topic& tp, const alarms::transition& t,
                               std::vector<delivery>& out) {
  if (tp.functions.empty()) return;
  const std::string message = sns_message(t, model_);
  for (const auto& fn : tp.functions) {
    const auto r = run_function(fn, tp.arn, message, t.time_ms, model_.region, lines_);
    if (!r.error.empty()) {
      // The function's email is lost: counted as one email not written.
      ++emails_;
      ++unwritten_;
      err_ << "fitwatch: " << t.alarm_name << " " << to_string(t.new_state) << ": " << r.error
           << "\n";
    }
    for (const auto& p : r.publishes) {
      bool found = false;
      for (const auto& target : model_.topics) {
        if (target.arn != p.topic) continue;
        found = true;
        for (const auto& to : target.emails)
          deliver(render_published(p.subject, p.message, t.time_ms, model_, target, to), t, out);
      }
      if (!found) {
        err_ << "note: function " << fn.logical_id << " published to " << p.topic
             << ", a topic no given template creates: its emails are not rendered\n";
      }
    }
  }
}

std::vector<delivery> dispatcher::dispatch(const alarms::transition& t) {
  std::vector<delivery> out;
  for (const auto& action : t.actions) {
    for (const auto& tp : model_.topics) {
      if (tp.arn != action) continue;
      for (const auto& to : tp.emails) deliver(render_email(t, model_, tp, to), t, out);
      run_functions(tp, t, out);
    }
  }
  return out;
}

std::size_t dispatcher::finish() {
  return unwritten_ + (smtp_ ? smtp_->finish() : 0);
}

}  // namespace fitwatch::notify
