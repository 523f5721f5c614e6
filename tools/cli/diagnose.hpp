// Why replay or watch had nothing to evaluate: a log with no EMF event at
// all (a CSV of losses, a script's own output: `fitwatch emit` turns those
// into EMF), or alarms that read no metric of the log (another namespace,
// metric name or dimension value, e.g. the TrainingJobName). Each alarm
// that found nothing is named with what it expects and what the log holds
// instead, at most `max_shown` items per list ("and K more").
#pragma once

#include <cstddef>
#include <iosfwd>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alarms/metric_store.hpp"
#include "alarms/model.hpp"

namespace fitwatch::cli {

/// replay's and watch's exit code when no alarm read any datapoint of the
/// log (including a log without EMF events).
constexpr int exit_no_match = 4;

/// What a log holds beyond what the alarms keep (the metric store holds
/// only the metrics some alarm reads): the (namespace, metric name) of every
/// EMF metric, and what its first plain lines look like. Fed while the log
/// is read; bounded memory whatever the log.
class log_inventory {
 public:
  log_inventory() = default;
  log_inventory(const log_inventory&) = delete;  // first_ points into seen_
  log_inventory& operator=(const log_inventory&) = delete;

  /// Each line, before its metrics.
  void start_line() { position_ = 0; }
  /// Every metric of every valid EMF event, in order. Two comparisons when
  /// a line names the same metrics as the one before; no allocation for a
  /// metric already seen, unless the log holds more than 64 distinct ones.
  void metric(std::string_view ns, std::string_view name);
  /// Every plain (non-EMF) line; only the first few are looked at.
  void plain(std::string_view line);

  /// The distinct (namespace, name) pairs seen, sorted; at most
  /// `max_kept` (more_metrics() says if there were more).
  const std::set<std::pair<std::string, std::string>>& metrics() const { return seen_; }
  bool more_metrics() const { return overflow_; }
  /// Of the first plain lines looked at: a CSV of numbers, JSON objects.
  bool looks_like_csv() const { return csv_ > 0 && 2 * csv_ >= looked_; }
  bool looks_like_json() const { return json_ > 0 && 2 * json_ >= looked_; }

  static constexpr std::size_t max_kept = 10000;

 private:
  std::set<std::pair<std::string, std::string>> seen_;
  std::vector<std::pair<std::string, std::string>> last_line_;  // the fast paths
  std::vector<const std::pair<std::string, std::string>*> first_;
  std::size_t position_ = 0, looked_ = 0, csv_ = 0, json_ = 0;
  bool overflow_ = false;
};

/// The counts of the log, as session reports them.
struct log_counts {
  std::size_t lines = 0, events = 0, invalid = 0, rejected = 0;
};

/// At the end of the log: says on `err` why no alarm could change state
/// (no EMF event, with a hint to `fitwatch emit` for a CSV), or which
/// alarms read no datapoint and what the log holds. Returns exit_no_match
/// if no metric alarm read any datapoint, else 0 (an alarm that read
/// nothing while others did is reported as a note, not a failure: an
/// optional rule whose metric the training does not emit; only with
/// `notes`, since watch --format json writes its transitions to stderr).
int explain_no_match(const alarms::template_model& model, const alarms::metric_store& store,
                     const log_inventory& inventory, const log_counts& counts, bool notes,
                     std::ostream& err);

/// `s` as it may be printed on a terminal: control characters (a CR/LF or
/// an escape sequence in a job name from the log) written as \xNN.
std::string printable(std::string_view s);

/// Before the log: a note on `err` for each SNS topic an alarm notifies
/// that no given template creates (a job stack's TeamTopicArn without the
/// team stack's template, or a typo in it): replay renders no email for
/// it. Returns how many such topics.
std::size_t note_unknown_topics(const alarms::template_model& model, std::ostream& err);

}  // namespace fitwatch::cli
