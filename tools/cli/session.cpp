#include "session.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <queue>
#include <sstream>
#include <stdexcept>

#include "alarms/cloudwatch_text.hpp"
#include "alarms/engine.hpp"
#include "alarms/log_clock.hpp"
#include "cfn/stacks.hpp"
#include "diagnose.hpp"
#include "emf/inspect.hpp"
#include "notify/dispatch.hpp"
#include "notify/outbox.hpp"
#include "print.hpp"
#include "report/report.hpp"

namespace fitwatch::cli {
namespace {

// The HTML report of a run, rewritten at most every `every_ms` while watch
// reads (and always at the start and the end).
class html_report_file {
 public:
  html_report_file(const alarms::template_model& model, std::string path, std::int64_t every_ms)
      : page_(model), path_(std::move(path)), every_(every_ms) {}
  report::run_report& page() { return page_; }
  // A new file next to the report, renamed over it (notify/outbox.hpp): a
  // reader never sees half a report, and a file or symlink planted at any
  // name is never followed.
  void write() {
    std::ostringstream html;
    page_.write_html(html);
    const auto error = notify::write_outbox_file(path_, html.str());
    if (!error.empty()) throw std::runtime_error("cannot write report " + path_ + ": " + error);
    written_ = std::chrono::steady_clock::now();
  }
  bool due() const { return std::chrono::steady_clock::now() - written_ >= every_; }
  // A failed rewrite must not stop the lines passing through: say so, retry later.
  void write_if_due(std::ostream& err) {
    if (!due()) return;
    try {
      write();
    } catch (const std::exception& e) {
      err << "fitwatch watch: " << e.what() << " (retrying)\n";
      written_ = std::chrono::steady_clock::now();
    }
  }

 private:
  report::run_report page_;
  std::string path_;
  std::chrono::milliseconds every_;
  std::chrono::steady_clock::time_point written_;
};

// The line loop: each log line validated as CloudWatch Logs would, its EMF
// event admitted by the clock and stored; each transition the engine
// reports goes to the dispatcher, the printer and the report.
class session {
 public:
  session(const alarm_options& o, alarms::template_model model, std::ostream& transitions_out,
          std::ostream& err)
      : o_(o),
        model_(std::move(model)),
        engine_(model_),
        delivery_(model_, o_.delivery, err),
        out_(transitions_out),
        err_(err) {
    if (!o_.delivery.smtp.url.empty() && o_.delivery.smtp.insecure)
      err_ << "fitwatch watch: --smtp-insecure: TLS is not required\n";
    if (!o_.html_report.empty())
      html_ = std::make_unique<html_report_file>(model_, o_.html_report, o_.html_report_every_ms);
    if (!o_.json) note_unknown_topics(model_, err_);
  }

  // Before the first line: an empty report, so a path that cannot be
  // written fails at once (and watch's report exists from the start).
  void start() {
    if (html_) html_->write();
  }

  // One log line. In watch the clock first runs up to the line's timestamp.
  void line(const std::string& text, const std::string& where, std::size_t number) {
    ++lines_;
    inventory_.start_line();
    const auto r = emf::validate_line(text, {}, &event_, wanted_,
                                      html_ ? &report::run_report::picks() : nullptr);
    if (r.kind == emf::line_kind::plain) {
      inventory_.plain(text);
      return;
    }
    if (r.kind == emf::line_kind::invalid) {
      ++invalid_;
      err_ << where << ":" << number
           << ": invalid EMF, skipped: " << (r.errors.empty() ? "" : r.errors.front()) << "\n";
      return;
    }
    ++events_;
    if (const auto why = clock_.admit(event_.timestamp_ms)) {
      ++rejected_;
      err_ << where << ":" << number << ": " << *why << ", skipped\n";
      return;
    }
    if (html_) html_->page().add_event(event_);
    if (model_.configured_ms == 0) model_.configured_ms = event_.timestamp_ms;
    if (o_.delay.delayed()) {
      // Delivery delay: the event reaches CloudWatch D after its timestamp;
      // what arrived by this line's time is stored first, in arrival order.
      deliver_until(event_.timestamp_ms);
      pending_.push({event_.timestamp_ms + o_.delay.draw(number), number, event_, text, where});
    } else {
      if (o_.live() && engine_.store().first_timestamp())
        announce(engine_.advance_to(event_.timestamp_ms - 1));
      store(event_, number, text, event_.timestamp_ms, where);
    }
    if (html_ && o_.live()) html_->write_if_due(err_);
  }

  // Returns the exit code: 3 if an email could not be written or sent,
  // exit_no_match (4) if no alarm read any datapoint.
  int finish() {
    deliver_until(std::numeric_limits<std::int64_t>::max());
    const auto last = engine_.store().last_timestamp();
    if (!last) {
      if (html_) html_->write();
      return explain();
    }
    // Through the last timestamp (the tick that evaluates its period), then the tail.
    const std::int64_t end = engine_.settled_after(std::max(*last, last_arrival_));
    announce(engine_.advance_to(end + o_.tail.value_or(engine_.longest_range_ms())));
    if (html_) html_->write();
    if (!o_.json) {
      out_ << transitions_ << " transitions"
           << (shown_.hidden() == 0 ? ""
                                    : " (" + std::to_string(shown_.hidden()) +
                                          " not shown: --verbose prints every one)")
           << ", " << delivery_.emails() << " emails"
           << (o_.delivery.outbox.empty() ? "" : " written to " + o_.delivery.outbox) << " ("
           << lines_ << " lines, " << events_ << " EMF events, " << invalid_ << " invalid"
           << (rejected_ == 0
                   ? ""
                   : ", " + std::to_string(rejected_) + " outside CloudWatch's time window")
           << ")\n";
    }
    const std::size_t lost = delivery_.finish();
    if (lost == 0) return explain();
    err_ << "fitwatch: " << lost << " of " << delivery_.emails()
         << " emails not written or not sent\n";
    return 3;
  }

 private:
  // Why nothing happened, if so (diagnose.hpp): 0 or exit_no_match.
  int explain() {
    return explain_no_match(model_, engine_.store(), inventory_,
                            {lines_, events_, invalid_, rejected_}, !o_.json, err_);
  }

  // Adds an event's datapoints, visible from `arrival_ms`, to the alarms'
  // store and its line to what functions (the formatter) may read.
  void store(const emf::extracted_event& e, std::size_t number, const std::string& text,
             std::int64_t arrival_ms, const std::string& where) {
    if (!engine_.store().add(e, number)) {  // after year 9999: no alarm can evaluate it
      ++rejected_;
      err_ << where << ":" << number << ": timestamp " << alarms::iso_time(e.timestamp_ms)
           << " is after year 9999, skipped\n";
      return;
    }
    delivery_.observe(text, e.timestamp_ms, arrival_ms);
    last_arrival_ = std::max(last_arrival_, arrival_ms);
  }

  // Every delayed event that reached CloudWatch by `now_ms`, in arrival
  // order: the alarms are evaluated up to just before its arrival, then it
  // is stored (a datapoint is invisible to every evaluation before it).
  void deliver_until(std::int64_t now_ms) {
    while (!pending_.empty() && pending_.top().arrival_ms <= now_ms) {
      const auto p = pending_.top();
      pending_.pop();
      if (engine_.store().first_timestamp()) announce(engine_.advance_to(p.arrival_ms - 1));
      store(p.event, p.number, p.text, p.arrival_ms, p.where);
    }
  }

  // Each transition: its emails sent, then printed, then added to the report.
  void announce(const std::vector<alarms::transition>& ts) {
    for (const auto& t : ts) {
      ++transitions_;
      const auto emails = delivery_.dispatch(t);
      if (html_) {
        std::vector<std::string> to;
        for (const auto& e : emails) to.push_back(e.to);
        html_->page().add_transition(t, to);
      }
      if (o_.json) {
        print_transition_json(out_, t, emails, model_);
      } else if (shown_.shows(t, emails)) {
        print_transition_text(out_, t, emails);
      }
      out_.flush();
    }
  }

  const alarm_options& o_;
  alarms::template_model model_;
  alarms::engine engine_;
  notify::dispatcher delivery_;
  std::ostream& out_;
  std::ostream& err_;
  emf::extracted_event event_;
  std::unique_ptr<html_report_file> html_;
  transition_filter shown_{o_.verbose};
  // The store gets only the metrics some alarm reads; the report reads its
  // own by position (run_report::picks), without copying them.
  std::function<bool(std::string_view, std::string_view)> wanted_ = [this](std::string_view ns,
                                                                           std::string_view name) {
    inventory_.metric(ns, name);
    return engine_.wants(ns, name);
  };
  alarms::log_clock clock_;
  log_inventory inventory_;
  struct pending_event {
    std::int64_t arrival_ms;
    std::size_t number;
    emf::extracted_event event;
    std::string text, where;
    bool operator>(const pending_event& o) const {
      return arrival_ms != o.arrival_ms ? arrival_ms > o.arrival_ms : number > o.number;
    }
  };
  std::priority_queue<pending_event, std::vector<pending_event>, std::greater<pending_event>>
      pending_;
  std::int64_t last_arrival_ = std::numeric_limits<std::int64_t>::min();
  std::size_t lines_ = 0, events_ = 0, invalid_ = 0, rejected_ = 0, transitions_ = 0;
};

}  // namespace

int run_alarms(const std::vector<std::string>& args, alarm_command command, std::ostream& out,
               std::ostream& err,
               const std::function<int(const alarm_options&, const line_fn&)>& read) {
  alarm_options o;
  o.command = command;
  try {
    for (const auto& a : args) {
      if (a == "--help" || a == "-h") {
        out << alarm_usage;
        return 0;
      }
    }
    o = parse_alarm_options(args, command);
    check_outputs(o);
  } catch (const std::exception& e) {
    err << o.name() << ": " << e.what() << "\n" << alarm_usage;
    return 2;
  }
  std::unique_ptr<session> s;
  try {
    s = std::make_unique<session>(o, cfn::read_stacks(o.templates, o.stack), o.live() ? err : out,
                                  err);
  } catch (const std::exception& e) {
    err << o.name() << ": " << e.what() << "\n";
    return 2;
  }
  // Past the template, an error can still come from evaluating it (metric
  // math on real values) or from the output: a message and an exit code,
  // never an exception out of the command. watch keeps passing lines
  // through after one: the training's output must never stop.
  bool stopped = false;
  try {
    s->start();
    const int rc =
        read(o, [&](const std::string& text, const std::string& where, std::size_t number) {
          if (stopped) return;
          try {
            s->line(text, where, number);
          } catch (const std::exception& e) {
            if (!o.live()) throw;
            stopped = true;
            err << o.name() << ": " << where << ":" << number << ": " << e.what()
                << "; alarms are no longer evaluated, lines still pass through\n";
          }
        });
    if (rc != 0) return rc;
    if (stopped) return 2;
    return s->finish();
  } catch (const std::exception& e) {
    err << o.name() << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace fitwatch::cli
