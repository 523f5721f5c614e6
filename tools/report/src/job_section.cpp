// One job's section of the page: its summary, its SVG chart (losses, alarm
// lanes, emails, signals, time axis) and its table of transitions.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <ostream>
#include <stdexcept>

#include "alarm_match.hpp"
#include "alarms/missing_data.hpp"
#include "chart_series.hpp"
#include "job_section.hpp"
#include "metrics.hpp"
#include "run_data.hpp"
#include "svg.hpp"

namespace fitwatch::report::detail {
namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// One job's section.
class job_writer {
 public:
  job_writer(const alarms::template_model& model, const job& j, std::size_t index,
             const std::vector<alarm_change>& changes,
             const std::vector<contributor_items>& contributors)
      : j_(j), id_("j" + std::to_string(index)), contributors_(contributors) {
    for (std::size_t i = 0; i < changes.size(); ++i) {
      if (concerns_job(model, changes[i].t, j.name, contributors[i])) {
        changes_.push_back(&changes[i]);
        change_index_.push_back(i);
      }
    }
    // Lines mostly come in time order: sort only when they did not.
    if (!j.in_time_order) {
      order_.resize(j.rows.size());
      std::iota(order_.begin(), order_.end(), std::size_t{0});
      std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
        return j.rows[a].time_ms < j.rows[b].time_ms;
      });
    }
    xa_.t0 = std::numeric_limits<std::int64_t>::max();
    xa_.t1 = std::numeric_limits<std::int64_t>::min();
    const auto span = [&](std::int64_t t) {
      xa_.t0 = std::min(xa_.t0, t);
      xa_.t1 = std::max(xa_.t1, t);
    };
    if (!j.rows.empty()) span(earliest().time_ms), span(latest().time_ms);
    for (const auto* c : changes_) span(c->t.time_ms);
    if (xa_.t1 <= xa_.t0) xa_.t1 = xa_.t0 + 1000;
    xa_.t1 += (xa_.t1 - xa_.t0) / 50;  // room for the last marks
    for (const auto& a : model.alarms)
      if (watches_job(a, j.name)) lanes_.push_back({a.name, &a, watched_metric(a)});
    for (const auto& c : model.composites)
      if (composite_watches_job(model, c, j.name))
        lanes_.push_back({c.name, nullptr, metric_count});
    scan();
  }

  void write(std::ostream& out) {
    out << "<section class=\"job\" id=\"" << id_ << "\" data-job=\"" << esc(j_.name) << "\">\n"
        << "<h2>Job " << esc(j_.name) << "</h2>\n";
    summary(out);
    out << "<div class=\"legend\">"
        << "<span><i style=\"background:" << train_colour << "\"></i>training loss</span>"
        << "<span><i style=\"background:" << validation_colour << "\"></i>validation loss</span>"
        << "<span><i style=\"background:" << smoothed_colour
        << "\"></i>smoothed validation loss (what the detector reads)</span>"
        << "<span><i style=\"background:" << best_colour << "\"></i>best epoch</span>"
        << "<span><i style=\"background:" << alarm_colour
        << "\"></i>a rule's signal crosses its alarm threshold; ALARM</span>"
        << "<span><i style=\"background:" << ok_colour << "\"></i>OK</span></div>\n";
    std::string svg;
    double y = 34;
    losses(svg, y);
    alarm_lanes(svg, y);
    signals(svg, y);
    time_axis(svg, y);
    out << "<svg id=\"" << id_ << "-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
        << "\" height=\"" << fixed1(y + 36) << "\" viewBox=\"0 0 " << width << " " << fixed1(y + 36)
        << "\" role=\"img\" aria-label=\"losses, alarms and signals of job " << esc(j_.name)
        << "\">\n"
        << svg << "</svg>\n";
    table(out);
    out << "</section>\n";
  }

 private:
  struct lane {
    std::string name;
    const alarms::metric_alarm* metric;  // null for a composite alarm
    std::size_t watched;                 // the `metric` it reads, or metric_count
  };

  std::string at(std::int64_t t) const { return fixed1(xa_.x(t)); }

  const row& earliest() const { return j_.rows[order_.empty() ? 0 : order_.front()]; }
  const row& latest() const { return order_.empty() ? j_.rows.back() : j_.rows[order_.back()]; }

  // One pass over the rows in time order gathers what the page draws:
  // every series decimated (and its range), the best evaluation, the epoch
  // ticks, and where each alarm's signal crossed its threshold.
  void scan() {
    struct rule {
      std::size_t lane, metric;
      alarms::comparison_op op;
      double threshold;
      bool before = false;
    };
    std::vector<rule> rules;
    crossed_.resize(lanes_.size());
    for (std::size_t li = 0; li < lanes_.size(); ++li) {
      const auto* a = lanes_[li].metric;
      if (lanes_[li].watched == metric_count) continue;
      rules.push_back({li, lanes_[li].watched, alarms::comparison_of(a->comparison), a->threshold});
    }
    // The span of the epochs, unsigned: from INT64_MIN to INT64_MAX overflows a signed one.
    const auto span =
        static_cast<std::uint64_t>(j_.highest_epoch) - static_cast<std::uint64_t>(j_.lowest_epoch);
    const auto step =
        std::max<std::int64_t>(1, std::llround(nice_step(static_cast<double>(span), 10)));
    std::int64_t next_tick = j_.lowest_epoch;
    bool last_tick = false;  // the next tick would be past INT64_MAX
    const auto visit = [&](std::size_t i) {
      const auto& r = j_.rows[i];
      const long column = std::lround(std::floor(xa_.x(r.time_ms)));
      for (std::size_t k = 0; k < trace_count; ++k)
        traces_[k].add(column, r.time_ms, series_of[k](r));
      // The best evaluation is the last one with EvaluationsSinceBest = 0
      // (a new best, or the first evaluation).
      if (r.v[evaluations_since_best] == 0) best_ = static_cast<std::ptrdiff_t>(i);
      if (r.has_epoch && !last_tick && r.epoch >= next_tick &&
          (r.epoch % step == 0 || r.epoch == j_.lowest_epoch)) {
        ticks_.push_back(i);
        last_tick = r.epoch / step >= std::numeric_limits<std::int64_t>::max() / step;
        if (!last_tick) next_tick = (r.epoch / step + 1) * step;
      }
      // A crossing: an evaluation where the signal goes from not
      // breaching to breaching (a missing value changes nothing).
      for (auto& c : rules) {
        const double v = r.v[c.metric];
        if (std::isnan(v)) continue;
        const bool now = alarms::breaches(c.op, v, c.threshold);
        if (now && !c.before) crossed_[c.lane].push_back(i);
        c.before = now;
      }
    };
    if (order_.empty()) {
      for (std::size_t i = 0; i < j_.rows.size(); ++i) visit(i);
    } else {
      for (const auto i : order_) visit(i);
    }
    for (auto& t : traces_) t.finish();
  }

  std::string epoch_of(const row& r) const { return r.has_epoch ? std::to_string(r.epoch) : ""; }

  void summary(std::ostream& out) const {
    out << "<p class=\"summary\">" << j_.rows.size() << " evaluations";
    if (!j_.rows.empty()) {
      const auto& a = earliest();
      const auto& b = latest();
      out << " from " << utc(a.time_ms) << " to " << utc(b.time_ms);
      if (a.has_epoch && b.has_epoch) out << " (epochs " << a.epoch << "&ndash;" << b.epoch << ")";
    }
    out << ".";
    if (best_ >= 0) {
      const auto& r = j_.rows[static_cast<std::size_t>(best_)];
      out << " Best epoch <b>" << esc(epoch_of(r)) << "</b> at " << utc(r.time_ms)
          << " (smoothed validation loss " << number(smoothed_of(r)) << ").";
    }
    for (const auto* c : changes_) {
      if (c->recipients.empty() || c->t.new_state != alarms::alarm_state::alarm) continue;
      out << " First email: " << esc(c->t.alarm_name) << " went to ALARM at " << utc(c->t.time_ms);
      if (best_ >= 0) {
        const auto d = c->t.time_ms - j_.rows[static_cast<std::size_t>(best_)].time_ms;
        out << ", " << elapsed(std::abs(d), std::abs(d)) << (d >= 0 ? " after" : " before")
            << " the best epoch";
      }
      out << ", to " << c->recipients.size() << " addresses.";
      at_alarm(out, c->t.time_ms);
      break;
    }
    out << "</p>\n";
  }

  // What the detector said at the alarm: the newest evaluation at or before
  // it (its evaluations since the best: the delay in evaluations, and its
  // generalization loss), and the reason of the verdict it belongs to.
  void at_alarm(std::ostream& out, std::int64_t time_ms) const {
    std::ptrdiff_t at = -1;
    const auto visit = [&](std::size_t i) {
      if (j_.rows[i].time_ms <= time_ms) at = static_cast<std::ptrdiff_t>(i);
    };
    if (order_.empty()) {
      for (std::size_t i = 0; i < j_.rows.size(); ++i) visit(i);
    } else {
      for (const auto i : order_) visit(i);
    }
    if (at < 0) return;
    const auto& r = j_.rows[static_cast<std::size_t>(at)];
    const double since = r.v[evaluations_since_best];
    const double gl = r.v[generalization_loss];
    out << " <span id=\"" << id_ << "-at-alarm\" data-since-best=\""
        << (std::isfinite(since) ? number(since) : "") << "\">At the alarm (epoch "
        << esc(epoch_of(r)) << "):";
    if (std::isfinite(since)) {
      out << " <b>" << number(since) << (since == 1 ? " evaluation" : " evaluations")
          << "</b> after the best";
    }
    if (std::isfinite(gl))
      out << (std::isfinite(since) ? "," : "") << " generalization loss " << number(gl) << " %";
    out << ".";
    // The verdict the row belongs to: the last one that began at or before it.
    const row* began = nullptr;
    const std::string* reason = nullptr;
    for (const auto& [i, why] : j_.verdicts) {
      if (j_.rows[i].time_ms > time_ms) break;
      began = &j_.rows[i];
      reason = &why;
    }
    if (reason != nullptr) {
      out << " The detector's reason";
      if (began->has_epoch) out << " (epoch " << began->epoch << ")";
      out << ": <q id=\"" << id_ << "-reason\">" << esc(*reason) << "</q>";
    }
    out << "</span>";
  }

  // A grid line's value: 0 where rounding left a trace of it; a nice end
  // beyond the largest double (an axis to 1.79e308) as the largest double.
  static std::string label(double v, double step, double scale) {
    if (std::fabs(v) < step * 1e-9) return "0";
    constexpr double largest = std::numeric_limits<double>::max();
    return number(std::clamp(v / scale, -largest, largest));
  }

  void grid(std::string& s, const y_axis& ya, const char* unit_label) const {
    const double step = nice_step(ya.hi - ya.lo, 4);
    for (double v = ya.lo; v <= ya.hi + step / 2;) {  // in units of ya.scale
      const std::string y = fixed1(ya.at(v));
      s += "<line class=\"grid\" x1=\"" + fixed1(left) + "\" x2=\"" + fixed1(right) + "\" y1=\"" +
           y + "\" y2=\"" + y + "\"/><text x=\"" + fixed1(left - 6) + "\" y=\"" + y +
           "\" dy=\"4\" text-anchor=\"end\">" + label(v, step, ya.scale) + "</text>\n";
      // The step can add nothing (1e16 + 0.5) or overflow (an axis to 1.79e308).
      const double next = v + step;
      if (!(next > v) || !std::isfinite(next)) break;
      v = next;
    }
    s += "<line class=\"axis\" x1=\"" + fixed1(left) + "\" x2=\"" + fixed1(left) + "\" y1=\"" +
         fixed1(ya.top) + "\" y2=\"" + fixed1(ya.bottom) + "\"/>\n";
    s += "<text transform=\"translate(14," + fixed1((ya.top + ya.bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + unit_label + "</text>\n";
  }

  void series(std::string& s, const std::string& name, const trace& t, const y_axis& ya,
              const char* colour, const char* dash = nullptr) const {
    s += "<path id=\"" + id_ + "-" + name + "\" class=\"series\" data-points=\"" +
         std::to_string(t.points()) + "\" data-drawn=\"" + std::to_string(t.drawn()) +
         "\" stroke=\"" + colour + "\"" +
         (dash ? std::string(" stroke-dasharray=\"") + dash + "\"" : "") + " d=\"" +
         t.path(xa_, ya) + "\"/>\n";
  }

  void losses(std::string& s, double& y) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto k : {train_trace, validation_trace, smoothed_trace}) {
      lo = std::min(lo, traces_[k].lo());
      hi = std::max(hi, traces_[k].hi());
    }
    const y_axis ya = fit(lo, hi, y, y + 300);
    s += "<text class=\"panel-title\" x=\"" + fixed1(left) + "\" y=\"" + fixed1(y - 20) +
         "\">Loss per evaluation</text>\n";
    grid(s, ya, "loss");
    epoch_ticks(s, ya.top);
    series(s, "train", traces_[train_trace], ya, train_colour);
    series(s, "validation", traces_[validation_trace], ya, validation_colour);
    series(s, "smoothed", traces_[smoothed_trace], ya, smoothed_colour, "5 3");
    if (j_.rows.size() <= 120) {  // few evaluations: a dot at each
      for (std::size_t i = 0; i < j_.rows.size(); ++i) {
        const auto& r = j_.rows[i];
        for (const auto& [f, c] :
             {std::pair{train_of, train_colour}, std::pair{validation_of, validation_colour}}) {
          const double v = f(r);
          if (std::isfinite(v))
            s += "<circle r=\"2.2\" fill=\"" + std::string(c) + "\" cx=\"" + at(r.time_ms) +
                 "\" cy=\"" + fixed1(ya.y(v)) + "\"/>";
        }
      }
      s += "\n";
    }
    if (best_ >= 0) {
      const auto& r = j_.rows[static_cast<std::size_t>(best_)];
      const double v = smoothed_of(r);
      s += "<g id=\"" + id_ + "-best\" data-epoch=\"" + esc(epoch_of(r)) + "\" data-time=\"" +
           utc(r.time_ms) + "\"><title>best epoch " + esc(epoch_of(r)) +
           ": smoothed validation loss " + number(v) + " at " + utc(r.time_ms) +
           "</title><line stroke=\"" + best_colour + "\" stroke-width=\"1.5\" x1=\"" +
           at(r.time_ms) + "\" x2=\"" + at(r.time_ms) + "\" y1=\"" + fixed1(ya.top) + "\" y2=\"" +
           fixed1(ya.bottom) + "\"/>";
      if (std::isfinite(v))
        s += "<circle r=\"5\" fill=\"none\" stroke=\"" + std::string(best_colour) +
             "\" stroke-width=\"2\" cx=\"" + at(r.time_ms) + "\" cy=\"" + fixed1(ya.y(v)) + "\"/>";
      s += "<text x=\"" + at(r.time_ms) + "\" dx=\"4\" y=\"" + fixed1(ya.bottom - 6) +
           "\" fill=\"" + best_colour + "\">best epoch " + esc(epoch_of(r)) + "</text></g>\n";
    }
    crossings(s, ya);
    y = ya.bottom + 26;
  }

  // The top row of the loss panel: the epoch of the evaluations, at nice steps.
  void epoch_ticks(std::string& s, double top) const {
    if (!j_.any_epoch) return;
    s += "<text x=\"" + fixed1(left - 6) + "\" y=\"" + fixed1(top - 4) +
         "\" text-anchor=\"end\">epoch</text>";
    for (const auto i : ticks_) {
      const auto& r = j_.rows[i];
      s += "<text x=\"" + at(r.time_ms) + "\" y=\"" + fixed1(top - 4) +
           "\" text-anchor=\"middle\">" + std::to_string(r.epoch) + "</text>";
    }
    s += "\n";
  }

  // Where each alarm's signal crossed its threshold (every evaluation where
  // it goes from not breaching to breaching), from the values in the log:
  // a dashed line through the loss panel, the reason on hover.
  void crossings(std::string& s, const y_axis& ya) const {
    std::size_t k = 0, label_row = 0;
    for (std::size_t li = 0; li < lanes_.size(); ++li) {
      const auto& l = lanes_[li];
      const std::size_t m = l.watched;
      for (std::size_t n = 0; n < crossed_[li].size(); ++n) {
        const auto& r = j_.rows[crossed_[li][n]];
        const double v = r.v[m];
        // The first crossing of each alarm gets a line through the panel and
        // a label; later ones a triangle at the top (readable at thousands
        // of crossings).
        const std::string x = at(r.time_ms);
        s += "<g id=\"" + id_ + "-crossing-" + std::to_string(k++) +
             "\" class=\"crossing\" data-alarm=\"" + esc(l.name) + "\" data-metric=\"" +
             std::string(metric_names[m]) + "\" data-epoch=\"" + esc(epoch_of(r)) +
             "\" data-value=\"" + number(v) + "\"><title>" + std::string(metric_names[m]) + " = " +
             number(v) + " crossed the threshold of " + esc(l.name) + " (" +
             esc(l.metric->comparison) + " " + number(l.metric->threshold) + ") at epoch " +
             esc(epoch_of(r)) + ", " + utc(r.time_ms) + "</title><path fill=\"" + alarm_colour +
             "\" d=\"M" + x + " " + fixed1(ya.top + 9) + " l-5 -9 h10 z\"/>";
        if (n == 0) {
          s += "<line stroke=\"" + std::string(alarm_colour) + "\" stroke-dasharray=\"3 3\" x1=\"" +
               x + "\" x2=\"" + x + "\" y1=\"" + fixed1(ya.top) + "\" y2=\"" + fixed1(ya.bottom) +
               "\"/><text x=\"" + x + "\" dx=\"" +
               (xa_.x(r.time_ms) > right - 150 ? "-8\" text-anchor=\"end" : "4") + "\" y=\"" +
               fixed1(ya.top + 10 + 12 * static_cast<double>(label_row++ % 3)) + "\" fill=\"" +
               alarm_colour + "\">" + std::string(metric_names[m]) + "</text>";
        }
        s += "</g>\n";
      }
    }
  }

  // One lane per alarm: its state over time, each transition a mark with
  // CloudWatch's reason on hover; then the emails: when, to whom.
  void alarm_lanes(std::string& s, double& y) const {
    s += "<text class=\"panel-title\" x=\"" + fixed1(left) + "\" y=\"" + fixed1(y) +
         "\">Alarms (state over time; hover a mark for CloudWatch's reason)</text>\n";
    y += 8;
    std::size_t k = 0;
    for (std::size_t li = 0; li < lanes_.size(); ++li) {
      const auto& l = lanes_[li];
      s += "<g id=\"" + id_ + "-alarm-" + std::to_string(li) + "\" data-alarm=\"" + esc(l.name) +
           "\"><text x=\"" + fixed1(left) + "\" y=\"" + fixed1(y + 10) + "\">" + esc(l.name) +
           "</text>\n";
      const double band = y + 14;
      alarms::alarm_state state = alarms::alarm_state::insufficient_data;
      std::int64_t from = xa_.t0;
      const auto segment = [&](std::int64_t to) {
        s += "<rect x=\"" + at(from) + "\" y=\"" + fixed1(band) + "\" width=\"" +
             fixed1(std::max(0.0, xa_.x(to) - xa_.x(from))) + "\" height=\"10\" fill=\"" +
             state_colour(state) + "\" fill-opacity=\"0.55\"/>";
      };
      for (const auto* c : changes_) {
        if (c->t.alarm_name != l.name) continue;
        segment(c->t.time_ms);
        state = c->t.new_state;
        from = c->t.time_ms;
      }
      segment(xa_.t1);
      s += "\n";
      for (const auto* c : changes_) {
        if (c->t.alarm_name != l.name) continue;
        const auto& t = c->t;
        s += "<g id=\"" + id_ + "-transition-" + std::to_string(k++) +
             "\" class=\"transition\" data-alarm=\"" + esc(t.alarm_name) + "\" data-old=\"" +
             to_string(t.old_state) + "\" data-new=\"" + to_string(t.new_state) +
             "\" data-time=\"" + utc(t.time_ms) + "\" data-epoch=\"" +
             (t.epoch ? std::to_string(*t.epoch) : "") + "\"><title>" + esc(t.alarm_name) + ": " +
             to_string(t.old_state) + " -&gt; " + to_string(t.new_state) + " at " + utc(t.time_ms) +
             "\n" + esc(t.reason) + "</title><path fill=\"" + state_colour(t.new_state) +
             "\" stroke=\"#222\" stroke-width=\"0.8\" d=\"M" + at(t.time_ms) + " " +
             fixed1(band - 2) + " l6 7 l-6 7 l-6 -7 z\"/></g>\n";
      }
      s += "</g>\n";
      y += 32;
    }
    // The emails: one envelope per transition that sent any.
    s += "<text x=\"" + fixed1(left) + "\" y=\"" + fixed1(y + 10) + "\">emails</text>\n";
    std::size_t e = 0;
    const bool few = std::count_if(changes_.begin(), changes_.end(),
                                   [](const auto* c) { return !c->recipients.empty(); }) <= 30;
    for (const auto* c : changes_) {
      if (c->recipients.empty()) continue;
      const double x = xa_.x(c->t.time_ms), top = y + 14;
      s += "<g id=\"" + id_ + "-email-" + std::to_string(e++) + "\" class=\"email\" data-alarm=\"" +
           esc(c->t.alarm_name) + "\" data-state=\"" + to_string(c->t.new_state) +
           "\" data-time=\"" + utc(c->t.time_ms) + "\" data-to=\"" + esc(join(c->recipients, ",")) +
           "\"><title>" + std::to_string(c->recipients.size()) + " emails at " + utc(c->t.time_ms) +
           " (" + esc(c->t.alarm_name) + " " + to_string(c->t.new_state) + ") to " +
           esc(join(c->recipients, ", ")) + "</title><rect x=\"" + fixed1(x - 7) + "\" y=\"" +
           fixed1(top) + "\" width=\"14\" height=\"10\" fill=\"#fff\" stroke=\"" + email_colour +
           "\"/><path fill=\"none\" stroke=\"" + email_colour + "\" d=\"M" + fixed1(x - 7) + " " +
           fixed1(top) + " l7 6 l7 -6\"/>";
      if (few)  // the count beside each envelope, while there is room
        s += "<text x=\"" + fixed1(x + 10) + "\" y=\"" + fixed1(top + 9) + "\">" +
             std::to_string(c->recipients.size()) + "</text>";
      s += "</g>\n";
    }
    y += 44;
  }

  // The signals, each on its own axis, with the threshold of any alarm on it.
  void signals(std::string& s, double& y) const {
    const struct {
      const char* id;
      const char* title;
      const char* unit;
      std::size_t which;  // trace_index
      const char* colour;
      std::size_t metric;
    } panels[] = {
        {"gl", "Generalization loss (GeneralizationLoss)", "%", gl_trace, gl_colour,
         generalization_loss},
        {"streak", "Rise streak (ValidationLossRiseStreak)", "evaluations", streak_trace,
         streak_colour, rise_streak},
        {"since-best", "Evaluations since best (EvaluationsSinceBest)", "evaluations",
         since_best_trace, since_best_colour, evaluations_since_best},
    };
    for (const auto& p : panels) {
      double lo = std::min(0.0, traces_[p.which].lo());  // always show 0
      double hi = std::max(0.0, traces_[p.which].hi());
      std::vector<const alarms::metric_alarm*> on_it;
      for (const auto& l : lanes_) {
        if (l.metric != nullptr && l.watched == p.metric) {
          on_it.push_back(l.metric);
          hi = std::max(hi, l.metric->threshold);
        }
      }
      y += 18;
      const y_axis ya = fit(lo, hi, y, y + 70);
      s += "<text class=\"panel-title\" x=\"" + fixed1(left) + "\" y=\"" + fixed1(y - 6) + "\">" +
           p.title + "</text>\n";
      grid(s, ya, p.unit);
      series(s, std::string("signal-") + p.id, traces_[p.which], ya, p.colour);
      for (std::size_t i = 0; i < on_it.size(); ++i) {
        const std::string ty = fixed1(ya.y(on_it[i]->threshold));
        s += "<g id=\"" + id_ + "-threshold-" + p.id + "-" + std::to_string(i) +
             "\" data-alarm=\"" + esc(on_it[i]->name) + "\" data-value=\"" +
             number(on_it[i]->threshold) + "\"><title>threshold of " + esc(on_it[i]->name) +
             "</title><line stroke=\"" + alarm_colour + "\" stroke-dasharray=\"6 3\" x1=\"" +
             fixed1(left) + "\" x2=\"" + fixed1(right) + "\" y1=\"" + ty + "\" y2=\"" + ty +
             "\"/><text x=\"" + fixed1(right) + "\" y=\"" + ty +
             "\" dy=\"-3\" text-anchor=\"end\" fill=\"" + alarm_colour + "\">alarm threshold " +
             number(on_it[i]->threshold) + "</text></g>\n";
      }
      y = ya.bottom + 8;
    }
  }

  void time_axis(std::string& s, double& y) const {
    const std::int64_t span = xa_.t1 - xa_.t0, step = time_step(span);
    s += "<line class=\"axis\" x1=\"" + fixed1(left) + "\" x2=\"" + fixed1(right) + "\" y1=\"" +
         fixed1(y) + "\" y2=\"" + fixed1(y) + "\"/>\n";
    for (std::int64_t e = 0; e <= span; e += step) {
      const std::string x = at(xa_.t0 + e);
      s += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"30\" y2=\"" + fixed1(y) +
           "\" stroke-opacity=\"0.6\"/><text x=\"" + x + "\" y=\"" + fixed1(y + 14) +
           "\" text-anchor=\"middle\">" + elapsed(e, span) + "</text>";
    }
    s += "\n<text x=\"" + fixed1((left + right) / 2) + "\" y=\"" + fixed1(y + 30) +
         "\" text-anchor=\"middle\">time since " + utc(xa_.t0) + "</text>\n";
    y += 8;
  }

  void table(std::ostream& out) const {
    out << "<table id=\"" << id_ << "-transitions\"><tr><th>time</th><th>alarm</th>"
        << "<th>change</th><th>epoch</th><th>reason</th><th>emails to</th></tr>\n";
    for (std::size_t i = 0; i < changes_.size(); ++i) {
      const auto* c = changes_[i];
      const auto& t = c->t;
      const auto& items = contributors_[change_index_[i]];
      out << "<tr><td>" << utc(t.time_ms) << "</td><td>" << esc(t.alarm_name)
          << (t.contributor.empty() ? "" : "<br>" + esc(contributors_of_job(t, j_.name, items)))
          << "</td><td class=\"state-" << to_string(t.new_state) << "\">" << to_string(t.old_state)
          << " &rarr; " << to_string(t.new_state) << "</td><td>"
          << (t.epoch ? std::to_string(*t.epoch) : "") << "</td><td>" << esc(t.reason)
          << "</td><td>" << esc(join(c->recipients, ", ")) << "</td></tr>\n";
    }
    if (changes_.empty()) out << "<tr><td colspan=\"6\">no alarm changed state</td></tr>\n";
    out << "</table>\n";
  }

  const job& j_;
  std::string id_;
  std::vector<const alarm_change*> changes_;
  std::vector<std::size_t> change_index_;  // changes_[i] is the report's change_index_[i]
  const std::vector<contributor_items>& contributors_;
  std::vector<std::size_t> order_;  // rows by time, when they came out of it
  x_axis xa_;
  std::vector<lane> lanes_;
  std::ptrdiff_t best_ = -1;
  std::array<trace, trace_count> traces_;
  std::vector<std::size_t> ticks_;                 // rows that get an epoch tick
  std::vector<std::vector<std::size_t>> crossed_;  // per lane: rows where it crossed
};

}  // namespace

void write_job_section(std::ostream& out, const alarms::template_model& model, const job& j,
                       std::size_t index, const std::vector<alarm_change>& changes,
                       const std::vector<contributor_items>& contributors) {
  job_writer(model, j, index, changes, contributors).write(out);
}

}  // namespace fitwatch::report::detail
