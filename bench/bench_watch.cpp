// Memory of `fitwatch watch` over a long job (issue #12: it used to grow
// by about 200 bytes a line, 800 MB at 4M lines): 4,000,000 EMF lines as
// the Fashion-MNIST example writes them, one a second (46 days of a job),
// generated as watch reads them, through the shipped template. The
// process's peak RSS after a quarter of the lines and after all of them
// must be the same: memory bounded by the alarms' evaluation ranges, not by
// the log.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <streambuf>
#include <string>

#include "commands.hpp"
#include "fitwatch/monitor.hpp"

namespace {

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// The library's own lines, written into a buffer as watch asks for more.
class line_sink : public fitwatch::sink {
 public:
  void write(std::string_view lines) noexcept override { buffer.append(lines); }
  std::string buffer;
};

class generated_log : public std::streambuf {
 public:
  explicit generated_log(std::size_t lines) : lines_(lines) {
    options_.output = sink_;
    options_.background_writer = false;
    options_.flush_on_sigterm = false;
    options_.job_name = "bench-job";
    logger_ = std::make_unique<fitwatch::logger>(options_);
    monitor_ = std::make_unique<fitwatch::monitor>(*logger_);
  }
  long rss_at_quarter = 0;

 protected:
  int_type underflow() override {
    if (next_ == lines_) return traits_type::eof();
    if (next_ == lines_ / 4) rss_at_quarter = peak_rss_kb();
    const double x = static_cast<double>(next_ % 1000);
    sink_->buffer.clear();
    monitor_->observe_at(static_cast<std::int64_t>(next_),
                         {1.0 / (1 + 0.01 * x), 0.8 + 0.0001 * x, 0.9, 0.8},
                         1750000000000 + static_cast<std::int64_t>(next_) * 1000);
    logger_->flush();
    ++next_;
    current_ = sink_->buffer;
    setg(current_.data(), current_.data(), current_.data() + current_.size());
    return traits_type::to_int_type(current_[0]);
  }

 private:
  std::size_t lines_, next_ = 0;
  std::shared_ptr<line_sink> sink_ = std::make_shared<line_sink>();
  fitwatch::logger_options options_;
  std::unique_ptr<fitwatch::logger> logger_;
  std::unique_ptr<fitwatch::monitor> monitor_;
  std::string current_;
};

// Discards what watch passes through.
class null_buffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t lines = argc > 1 ? std::stoul(argv[1]) : 4000000;
  generated_log log{lines};
  std::istream in(&log);
  null_buffer discard;
  std::ostream out(&discard);
  std::ostringstream err;
  const std::string tmpl = std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml";
  const auto start = std::chrono::steady_clock::now();
  const int rc =
      fitwatch::cli::watch_command({"--template", tmpl, "--param", "TrainingJobName=bench-job",
                                    "--param", "TeamEmails=a@example.com", "--tail", "0"},
                                   in, out, err);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rc != 0) {
    std::cerr << err.str();
    return 1;
  }
  const long end = peak_rss_kb();
  std::printf(
      "\nwatch of %zu EMF lines (one a second, %.0f days) with templates/overfitting-alerts.yaml: "
      "%.1f s, %.0f lines/s; peak RSS %.1f MB after %zu lines, %.1f MB after %zu (growth %.1f "
      "MB; was about 200 bytes a line)\n",
      lines, static_cast<double>(lines) / 86400, s, static_cast<double>(lines) / s,
      static_cast<double>(log.rss_at_quarter) / 1024, lines / 4, static_cast<double>(end) / 1024,
      lines, static_cast<double>(end - log.rss_at_quarter) / 1024);
  return end - log.rss_at_quarter > 16 * 1024 ? 1 : 0;  // more than 16 MB of growth: unbounded
}
