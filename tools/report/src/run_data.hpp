// What a report keeps of a run, private to the room (callers see only
// run_report): per job its rows, one per evaluation, and its verdicts; every
// alarm transition with the addresses its emails went to. report.cpp fills
// it, page.cpp writes it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"
#include "emf/inspect.hpp"

namespace fitwatch::report::detail {

// The metrics a report reads, in this order.
enum metric : std::size_t {
  train_loss,
  validation_loss,
  best_validation_loss,
  generalization_loss,
  rise_streak,
  evaluations_since_best,
  overfitting_detected,
  training_diverged,
  gap_ratio,
  metric_count
};

/// One evaluation of a job: NaN where the line had no such metric.
struct row {
  std::int64_t time_ms = 0;
  std::int64_t epoch = 0;
  bool has_epoch = false;
  std::array<double, metric_count> v{};
};
/// A job's rows, in blocks of 4096 that never move once full: a million
/// evaluations are kept without copying them as they grow. The first
/// block grows as a vector does, so a job of one row (a fleet of
/// thousands) holds one row, not 4096.
class row_list {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const row& operator[](std::size_t i) const { return blocks_[i >> shift][i & mask]; }
  row& back() { return blocks_.back().back(); }
  const row& back() const { return blocks_.back().back(); }
  void push_back(const row& r) {
    if (blocks_.empty() || blocks_.back().size() == block) {
      blocks_.emplace_back();
      if (blocks_.size() > 1) blocks_.back().reserve(block);
    }
    blocks_.back().push_back(r);
    ++size_;
  }

 private:
  static constexpr std::size_t shift = 12, block = std::size_t{1} << shift, mask = block - 1;
  std::vector<std::vector<row>> blocks_;
  std::size_t size_ = 0;
};
struct job {
  std::string name;
  row_list rows;               // in the order of the log
  std::size_t last_event = 0;  // the event that added rows.back()
  bool in_time_order = true;   // no row is earlier than the one before it
  bool any_epoch = false;      // the range of the rows' epochs, if any has one
  std::int64_t lowest_epoch = 0, highest_epoch = 0;
  // The detector's reason (OverfittingReason) at the first row of each
  // run of rows that carry one: why and when a verdict was reached. The
  // rows after it carry the same words after where the run is then,
  // which the row's own metrics hold; one string per verdict, not per row.
  std::vector<std::pair<std::size_t, std::string>> verdicts;
  bool last_had_reason = false;
};
struct alarm_change {
  alarms::transition t;  // its model pointers stay valid: the model outlives the report
  std::vector<std::string> recipients;
};

class run_data {
 public:
  explicit run_data(const alarms::template_model& model) : model_(model) {}

  void add_event(const emf::extracted_event& event);
  void add_transition(const alarms::transition& t, const std::vector<std::string>& recipients);
  void write_html(std::ostream& out) const;  // page.cpp

 private:
  job& job_of(const std::vector<std::pair<std::string, std::string>>& dimensions);

  const alarms::template_model& model_;
  std::vector<job> jobs_;
  std::map<std::string, std::size_t> job_index_;
  std::size_t last_job_ = 0;
  std::size_t events_ = 0;
  std::string key_;  // scratch
  std::vector<alarm_change> changes_;
};

}  // namespace fitwatch::report::detail
