// Replay speed (issue target: >= 200,000 lines/s on one core): a
// 1,000,000-line EMF log, as the Fashion-MNIST example writes it (12
// metrics, 4 properties, one evaluation a second), through `fitwatch replay`
// with the shipped template; and what `--report` adds to it (issue #16:
// at most 10 %).
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "fitwatch/monitor.hpp"

namespace {
// One replay of `log` through the shipped template, with or without the
// report: its wall seconds (the comparison below reads the children's CPU
// time from the kernel).
double replay(const std::string& log, const std::string& report, bool with_report) {
  const std::string tmpl = std::string(FITWATCH_SOURCE_DIR) + "/templates/overfitting-alerts.yaml";
  std::ostringstream out, err;
  std::istringstream in;
  std::vector<std::string> args = {"--template", tmpl,
                                   "--param",    "TrainingJobName=bench-job",
                                   "--param",    "TeamEmails=a@example.com",
                                   "--tail",     "0",
                                   log};
  if (with_report) args.insert(args.end() - 1, {"--report", report});
  const auto start = std::chrono::steady_clock::now();
  const int rc = fitwatch::cli::replay_command(args, in, out, err);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rc != 0) {
    std::cerr << err.str();
    std::exit(1);
  }
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  // A child of the comparison below: one replay in a fresh process.
  if (argc == 5 && std::string(argv[1]) == "--child") {
    replay(argv[3], argv[4], std::string(argv[2]) == "report");
    return 0;
  }
  const std::size_t lines = argc > 1 ? std::stoul(argv[1]) : 1000000;
  const std::string log = "/tmp/fitwatch_bench_replay.log";
  {
    auto out = std::make_shared<fitwatch::file_sink>(log + ".tmp");
    fitwatch::logger_options o;
    o.output = out;
    o.background_writer = false;
    o.flush_on_sigterm = false;
    o.job_name = "bench-job";
    fitwatch::logger lg{o};
    fitwatch::monitor mon{lg};
    const std::int64_t t0 = 1750000000000;
    for (std::size_t i = 0; i < lines; ++i) {
      const double x = static_cast<double>(i % 1000);
      mon.observe_at(static_cast<std::int64_t>(i),
                     {1.0 / (1 + 0.01 * x), 0.8 + 0.0001 * x, 0.9, 0.8},
                     t0 + static_cast<std::int64_t>(i) * 1000);
    }
  }
  std::rename((log + ".tmp").c_str(), log.c_str());
  std::ifstream probe(log, std::ios::ate | std::ios::binary);
  const auto bytes = static_cast<double>(probe.tellg());
  const std::string report = "/tmp/fitwatch_bench_replay.html";
  // Replay speed: the best of three.
  double s = 1e300;
  for (int round = 0; round < 3; ++round) s = std::min(s, replay(log, report, false));
  std::printf(
      "\nreplay of %zu EMF lines (%.0f MB) with templates/overfitting-alerts.yaml: %.2f s, "
      "%.0f lines/s on one core (target: >= 200000)\n",
      lines, bytes / 1e6, s, static_cast<double>(lines) / s);

  // The report's cost. On this shared machine the speed of a core varies
  // from one run to the next by up to a third (other tenants; the process's
  // CPU time too), more than the 10 % to measure: one after the other, the
  // best of five gave 0.93 x to 1.26 x for one binary. So the two replays
  // run at the same time, one on each core (swapped every round), where the
  // host's slow and fast moments fall on both alike, and each child's CPU
  // time is compared. Each is a fresh process (this program run again): a
  // forked copy of this one would pay copy-on-write faults for every page
  // of the heap it reuses, the more the more it allocates.
  const auto start_replay = [&](bool with_report, int cpu) {
    const pid_t pid = fork();
    if (pid == 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof set, &set);  // best effort: one core is fine too
      execl("/proc/self/exe", argv[0], "--child", with_report ? "report" : "none", log.c_str(),
            report.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    return pid;
  };
  const auto cpu_of = [](pid_t pid) {
    int status = 0;
    rusage u{};
    if (pid < 0 || wait4(pid, &status, 0, &u) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "bench_replay: a replay failed\n");
      std::exit(1);
    }
    const auto seconds = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(u.ru_utime) + seconds(u.ru_stime);
  };
  constexpr int rounds = 10;
  std::vector<double> ratios;
  std::printf("the same with --report, both at once on the two cores (CPU time with / without):");
  for (int round = 0; round < rounds; ++round) {
    const pid_t without = start_replay(false, round % 2);
    const pid_t with = start_replay(true, 1 - round % 2);
    const double cpu = cpu_of(without), cpu_with_report = cpu_of(with);
    ratios.push_back(cpu_with_report / cpu);
    std::printf(" %.3f", ratios.back());
    std::fflush(stdout);
  }
  std::sort(ratios.begin(), ratios.end());
  std::ifstream report_size(report, std::ios::ate | std::ios::binary);
  const auto report_bytes = static_cast<double>(report_size.tellg());
  std::remove(log.c_str());
  std::remove(report.c_str());
  std::printf("\n  median of %d rounds: %.3f x (target: <= 1.10), a %.0f KB report\n", rounds,
              (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2, report_bytes / 1e3);
  return 0;
}
