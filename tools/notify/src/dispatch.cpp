#include "notify/dispatch.hpp"

#include <cctype>
#include <cstdio>
#include <ostream>

#include "notify/email.hpp"
#include "notify/outbox.hpp"

namespace fitwatch::tools {
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

dispatcher::dispatcher(const template_model& model, dispatch_options options, std::ostream& err)
    : model_(model), options_(std::move(options)), err_(err) {
  if (!options_.outbox.empty()) make_outbox(options_.outbox);
  if (!options_.smtp.url.empty()) smtp_ = std::make_unique<smtp_sender>(options_.smtp, err_);
}

dispatcher::~dispatcher() = default;

std::vector<delivery> dispatcher::dispatch(const transition& t) {
  std::vector<delivery> out;
  for (const auto& action : t.actions) {
    for (const auto& tp : model_.topics) {
      if (tp.arn != action) continue;
      for (const auto& to : tp.emails) {
        const auto e = render_email(t, model_, tp, to);
        delivery d{to, e.subject, {}, {}};
        ++emails_;
        if (!options_.outbox.empty()) {
          char prefix[16];
          std::snprintf(prefix, sizeof prefix, "%03zu", emails_);
          const std::string path = options_.outbox + "/" + prefix + "-" +
                                   file_name_part(t.alarm_name) + "-" + to_string(t.new_state) +
                                   "-" + file_name_part(to) + ".eml";
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
    }
  }
  return out;
}

std::size_t dispatcher::finish() {
  return unwritten_ + (smtp_ ? smtp_->finish() : 0);
}

}  // namespace fitwatch::tools
