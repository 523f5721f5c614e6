// The HTML report of a replayed (or watched) run: one self-contained file
// (inline SVG and CSS, no script, no network) that shows, per training job,
// the training and validation loss, the smoothed validation loss the
// detector reads, the best epoch, where each alarm's signal crossed its
// threshold, every alarm transition and every email on the same time axis,
// and the signals (generalization loss, rise streak, evaluations since best)
// each on its own axis. Curves are decimated for drawing (per pixel column
// the first, highest, lowest and last value); marks never are. Every
// element a test needs has a stable id (docs/replay.md lists them); every
// string from the log or the template is HTML-escaped.
//
// \code
//   fitwatch::report::run_report r{model};
//   r.add_event(event);                      // each valid EMF event of the log
//   r.add_transition(t, {"a@example.com"});  // each transition, with its emails
//   r.write_html(file);                      // the whole page
// \endcode
//
// Thread safety: none; one report per replay.
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

namespace fitwatch::report {

class run_report {
 public:
  /// `model` must outlive the report.
  explicit run_report(const alarms::template_model& model);

  /// The metrics the report reads, to pass as validate_line's `picks`:
  /// an event read with them is read by position, not by name.
  static const emf::metric_picks& picks();

  /// One valid EMF event; only the metrics of `picks()` are read (its
  /// picked values if it was read with them, else its series).
  void add_event(const emf::extracted_event& event);
  /// One alarm transition and the addresses its emails went to.
  void add_transition(const alarms::transition& t, const std::vector<std::string>& recipients);

  /// The report as one HTML document. (Where it goes, and how the file is
  /// created, is the caller's: fitwatch writes a new file and renames it.)
  void write_html(std::ostream& out) const;

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
    alarms::transition t;  // without the model pointers' lifetime concerns: the model outlives us
    std::vector<std::string> recipients;
  };

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

}  // namespace fitwatch::report
