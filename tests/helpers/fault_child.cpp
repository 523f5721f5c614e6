// Child process for the fault-injection tests (tests/test_faults.cpp): a
// training loop that writes through the library to whatever stdout and
// stderr the test gives it.
//   fault_child stall MS         put+flush (1 ms apart) with a 1 KB property
//                                and a NaN for MS milliseconds (long enough
//                                for several rate-limited reports); exit 0 if
//                                every flush returned within 500 ms, else 3
//   fault_child sigterm          its own SIGTERM handler (_exit(42)), then
//                                put+flush forever; the test sends SIGTERM
//   fault_child big N TAG        N evaluations of 60 metrics (about 8 KB of
//                                EMF each), nothing dropped; exit 0
//   fault_child closed-stdout F  (started with fd 1 closed) opens file F,
//                                which takes fd 1, then logs one line
//   fault_child fork-sigterm     a logger, then fork(); SIGTERM to the child
//                                must end the child (exit 0 if it did, and
//                                the parent, which prints "parent alive",
//                                lived on), 6 if the child lived on
//   fault_child fork-log N       N evaluations queued, fork(); the child logs
//                                "Child" 1..3 through the parent's logger and
//                                exits 0 if each drain succeeded (else 7);
//                                the parent then logs "Parent" 1 and exits 0
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>

#include <sys/wait.h>

#include "fitwatch/logger.hpp"

namespace {

using namespace std::chrono_literals;

// A long metric name makes each NaN report about 300 bytes, so that reports
// soon find no room in the last, partly filled page of a full pipe.
const std::string long_name = std::string(200, 'L') + "oss";

int stall(int milliseconds) {
  fitwatch::logger_options o;
  o.job_name = "fault-stall";
  o.queue_capacity = 16;
  o.flush_on_sigterm = false;
  o.shutdown_timeout = 200ms;
  fitwatch::logger log{o};
  const auto m = log.metric(long_name);
  log.set(log.property("payload"), std::string(1000, 'x'));
  bool slow = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
  for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
    log.put(m, i);
    log.put(m, std::nan(""));  // a diagnostic per evaluation, too
    const auto start = std::chrono::steady_clock::now();
    log.flush();
    slow |= std::chrono::steady_clock::now() - start > 500ms;  // loose: loaded CI machines
    std::this_thread::sleep_for(1ms);
  }
  return slow ? 3 : 0;
}

extern "C" void own_sigterm_action(int) {
  ::_exit(42);
}

int sigterm() {
  struct sigaction action {};
  action.sa_handler = own_sigterm_action;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  fitwatch::logger_options o;
  o.job_name = "fault-sigterm";
  o.queue_capacity = 16;
  o.sigterm_timeout = 300ms;
  auto* log = new fitwatch::logger(o);  // never destroyed: SIGTERM ends the process
  const auto m = log->metric(long_name);
  log->set(log->property("payload"), std::string(1000, 'x'));
  for (int i = 0;; ++i) {
    log->put(m, i);
    log->put(m, std::nan(""));
    log->flush();
    std::this_thread::sleep_for(1ms);
  }
}

int big(int n, const std::string& tag) {
  fitwatch::logger_options o;
  o.job_name = "fault-big";
  o.overflow = fitwatch::overflow_policy::block;  // the test counts every value
  o.flush_on_sigterm = false;
  o.shutdown_timeout = 60s;
  fitwatch::logger log{o};
  std::vector<fitwatch::metric_id> ids;
  for (int k = 0; k < 60; ++k) {
    ids.push_back(log.metric("AMetricNameLongEnoughToMakeTheLineLongerThanPipeBuf" +
                             std::to_string(100 + k)));
  }
  const auto writer = log.property("Writer");
  const auto step = log.property("Step");
  log.set(writer, tag);
  for (int i = 0; i < n; ++i) {
    log.set(step, std::int64_t{i});
    for (const auto id : ids) log.put(id, 1.0 / (i + 3));
    log.flush();
  }
  return 0;
}

int closed_stdout(const char* path) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd != STDOUT_FILENO) return 4;  // the test needs the file to take fd 1
  fitwatch::logger_options o;
  o.job_name = "fault-closed";
  o.flush_on_sigterm = false;
  fitwatch::logger log{o};
  log.put(log.metric("Loss"), 1);
  log.flush();
  return log.drain(5s) ? 0 : 5;
}

// The parent's status after its child got SIGTERM: 0 if the child died of
// it within 5 s, 6 if it did not (it is then killed).
int fork_sigterm() {
  fitwatch::logger_options o;
  o.job_name = "fault-fork";
  fitwatch::logger log{o};
  log.put(log.metric("Loss"), 1);
  log.flush();
  log.drain(5s);
  const pid_t child = ::fork();
  if (child == 0) {
    for (int i = 0; i < 500; ++i) std::this_thread::sleep_for(10ms);
    ::_exit(0);  // lived on for 5 s despite SIGTERM
  }
  if (child < 0) return 8;
  std::this_thread::sleep_for(50ms);
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  // Time for a wrongly woken SIGTERM watcher in this process to end it.
  std::this_thread::sleep_for(500ms);
  std::printf("parent alive\n");
  std::fflush(stdout);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM ? 0 : 6;
}

int fork_log(int n) {
  fitwatch::logger_options o;
  o.job_name = "fault-fork";
  o.overflow = fitwatch::overflow_policy::block;  // the test counts every line
  o.shutdown_timeout = 5s;
  fitwatch::logger log{o};
  const auto who = log.property("Who");
  const auto step = log.property("Step");
  const auto m = log.metric("Loss");
  for (int i = 0; i < n; ++i) {  // queued: some are still in the queue at fork()
    log.set(who, "Parent");
    log.set(step, std::int64_t{i});
    log.put(m, 0.5);
    log.flush();
  }
  const pid_t child = ::fork();
  if (child == 0) {
    bool ok = true;
    for (int i = 1; i <= 3; ++i) {
      log.set(who, "Child");
      log.set(step, std::int64_t{i});
      log.put(m, 0.25);
      log.flush();
      ok = log.drain(2s) && ok;
    }
    std::fflush(stdout);
    ::_exit(ok ? 0 : 7);
  }
  if (child < 0) return 8;
  int status = 0;
  ::waitpid(child, &status, 0);
  log.set(who, "Parent");
  log.set(step, std::int64_t{n});
  log.put(m, 0.5);
  log.flush();
  if (!log.drain(5s)) return 9;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 10;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "stall" && argc > 2) return stall(std::atoi(argv[2]));
  if (mode == "sigterm") return sigterm();
  if (mode == "big" && argc > 3) return big(std::atoi(argv[2]), argv[3]);
  if (mode == "closed-stdout" && argc > 2) return closed_stdout(argv[2]);
  if (mode == "fork-sigterm") return fork_sigterm();
  if (mode == "fork-log" && argc > 2) return fork_log(std::atoi(argv[2]));
  return 2;
}
