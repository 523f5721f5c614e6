// The report's data: the rows of each job as events arrive, and the alarm
// transitions. Drawing is page.cpp.
#include "report/report.hpp"

#include <algorithm>
#include <limits>

#include "metrics.hpp"
#include "run_data.hpp"

namespace fitwatch::report {

run_report::run_report(const alarms::template_model& model)
    : data_(std::make_unique<detail::run_data>(model)) {}

run_report::~run_report() = default;

void run_report::add_event(const emf::extracted_event& event) {
  data_->add_event(event);
}

void run_report::add_transition(const alarms::transition& t,
                                const std::vector<std::string>& recipients) {
  data_->add_transition(t, recipients);
}

void run_report::write_html(std::ostream& out) const {
  data_->write_html(out);
}

const emf::metric_picks& run_report::picks() {
  static const emf::metric_picks names({detail::metric_names.begin(), detail::metric_names.end()});
  return names;
}

namespace detail {
namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
}  // namespace

job& run_data::job_of(const std::vector<std::pair<std::string, std::string>>& dimensions) {
  // A job is its TrainingJobName; a line without one is grouped by its
  // whole dimension set.
  key_.clear();
  for (const auto& [k, v] : dimensions) {
    if (std::string_view(k) == "TrainingJobName") {
      if (!v.empty() && !jobs_.empty() && jobs_[last_job_].name == v) return jobs_[last_job_];
      key_ = v;
      break;
    }
  }
  if (key_.empty()) {
    for (const auto& [k, v] : dimensions) key_ += (key_.empty() ? "" : ", ") + k + "=" + v;
    if (key_.empty()) key_ = "(no dimensions)";
  }
  if (!jobs_.empty() && jobs_[last_job_].name == key_) return jobs_[last_job_];
  const auto [it, fresh] = job_index_.try_emplace(key_, jobs_.size());
  if (fresh) {
    jobs_.emplace_back();
    jobs_.back().name = key_;
  }
  last_job_ = it->second;
  return jobs_[last_job_];
}

void run_data::add_event(const emf::extracted_event& event) {
  ++events_;
  // The job's row of this event: a new one at the job's first value of it.
  const auto row_of = [&](job& j) -> row& {
    if (!j.rows.empty() && j.last_event == events_) return j.rows.back();
    row r;
    r.time_ms = event.timestamp_ms;
    r.has_epoch = event.epoch.has_value();
    r.epoch = event.epoch.value_or(0);
    r.v.fill(nan);
    if (!j.rows.empty() && r.time_ms < j.rows.back().time_ms) j.in_time_order = false;
    if (r.has_epoch) {
      j.lowest_epoch = j.any_epoch ? std::min(j.lowest_epoch, r.epoch) : r.epoch;
      j.highest_epoch = j.any_epoch ? std::max(j.highest_epoch, r.epoch) : r.epoch;
      j.any_epoch = true;
    }
    j.rows.push_back(r);
    j.last_event = events_;
    return j.rows.back();
  };
  row* r = nullptr;                           // the row of the last value read
  job* jr = nullptr;                          // and its job
  if (event.picks == &run_report::picks()) {  // by position: the order of picks() is `metric`
    std::size_t last_set = event.dimension_sets.size();
    for (const auto& p : event.picked) {
      if (p.set != last_set) r = &row_of(*(jr = &job_of(event.dimension_sets[p.set])));
      last_set = p.set;
      r->v[p.pick] = p.value;
    }
  } else {
    const emf::extracted_series* previous = nullptr;
    for (const auto& s : event.series) {
      const std::size_t m = metric_index(s.name);
      if (m == metric_count || s.values.empty()) continue;
      if (previous == nullptr || previous->dimensions != s.dimensions)
        r = &row_of(*(jr = &job_of(s.dimensions)));
      previous = &s;
      r->v[m] = s.values.back();
    }
  }
  if (jr == nullptr) return;
  const bool has_reason = !event.reason.empty();
  if (has_reason && !jr->last_had_reason)
    jr->verdicts.emplace_back(jr->rows.size() - 1, event.reason);
  jr->last_had_reason = has_reason;
}

void run_data::add_transition(const alarms::transition& t,
                              const std::vector<std::string>& recipients) {
  changes_.push_back({t, recipients});
}

}  // namespace detail
}  // namespace fitwatch::report
