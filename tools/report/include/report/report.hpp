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

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "alarms/model.hpp"
#include "alarms/transition.hpp"
#include "emf/inspect.hpp"

namespace fitwatch::report {

namespace detail {
class run_data;  // src/run_data.hpp: the jobs' rows and the alarm changes
}  // namespace detail

class run_report {
 public:
  /// `model` must outlive the report.
  explicit run_report(const alarms::template_model& model);
  ~run_report();
  run_report(const run_report&) = delete;
  run_report& operator=(const run_report&) = delete;

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

 private:
  std::unique_ptr<detail::run_data> data_;
};

}  // namespace fitwatch::report
