// The page: one HTML document, its style, the run's summary and a section per
// job (job_section.cpp).
#include <ostream>

#include "alarm_match.hpp"
#include "job_section.hpp"
#include "run_data.hpp"
#include "svg.hpp"

namespace fitwatch::report::detail {
namespace {

const char* const style = R"(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;max-width:1120px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 4px;border-top:1px solid #ddd;padding-top:12px}
.meta,.summary{color:#555;margin:2px 0}.legend span{display:inline-block;margin-right:14px;white-space:nowrap}
.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:5px}
svg{display:block;margin:8px 0}svg text{font-size:11px;fill:#333}svg .axis{stroke:#999;stroke-width:1}
svg .grid{stroke:#eee;stroke-width:1}svg .series{fill:none;stroke-width:1.6;stroke-linejoin:round}
svg .panel-title{font-size:12px;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e4e4e4;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.state-ALARM{color:#d62728;font-weight:600}td.state-OK{color:#2ca02c;font-weight:600}
td.state-INSUFFICIENT_DATA{color:#777}
)";

}  // namespace

void run_data::write_html(std::ostream& out) const {
  std::size_t emails = 0;
  for (const auto& c : changes_) emails += c.recipients.size();
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<meta name=\"viewport\" content=\"width=device-width\">"
      << "<title>fitwatch report</title><style>" << style << "</style></head><body>\n"
      << "<h1>fitwatch report</h1>\n<p class=\"meta\" id=\"summary\" data-jobs=\"" << jobs_.size()
      << "\" data-transitions=\"" << changes_.size() << "\" data-emails=\"" << emails << "\">"
      << jobs_.size() << (jobs_.size() == 1 ? " job, " : " jobs, ") << changes_.size()
      << " alarm transitions, " << emails << " emails; alarms of stack " << esc(model_.stack_name)
      << " in " << esc(model_.region)
      << " evaluated with CloudWatch's rules by fitwatch (docs/replay.md).</p>\n";
  if (jobs_.size() > 1) {
    out << "<p class=\"meta\">Jobs:";
    for (std::size_t i = 0; i < jobs_.size(); ++i)
      out << " <a href=\"#j" << i << "\">" << esc(jobs_[i].name) << "</a>";
    out << "</p>\n";
  }
  if (jobs_.empty()) out << "<p id=\"empty\">No EMF event with fitwatch's metrics yet.</p>\n";
  std::vector<contributor_items> contributors;
  contributors.reserve(changes_.size());
  for (const auto& c : changes_) contributors.push_back(contributors_by_job(c.t));
  for (std::size_t i = 0; i < jobs_.size(); ++i)
    write_job_section(out, model_, jobs_[i], i, changes_, contributors);
  out << "</body></html>\n";
}

}  // namespace fitwatch::report::detail
