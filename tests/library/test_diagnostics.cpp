// fitwatch's diagnostics queue (src/diagnostics.cpp): the behaviours the
// choice against spdlog's async logger rests on (docs/library.md,
// "Diagnostics"; test_diagnostics_spdlog.cpp shows spdlog's side).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "diagnostics.hpp"
#include "fitwatch/error.hpp"
#include "test_diagnostics_support.hpp"

using namespace std::chrono_literals;
using fitwatch::detail::report;
using fitwatch::detail::urgency;
using fitwatch::test::delivery_gate;
using fitwatch::test::run_child;
using fitwatch::test::test_pipe;

#ifdef __SANITIZE_THREAD__
// The forked children here start a thread (the library's diagnostics thread,
// as a real forked child does); ThreadSanitizer kills such a child unless
// told otherwise.
extern "C" const char* __tsan_default_options() {
  return "die_after_fork=0";
}
#endif

namespace {

// Hands every report to `gate`; setting the handler also resets the rate
// limit (one report a second), so that each report reaches the queue.
void arm(delivery_gate& gate) {
  fitwatch::set_error_handler([&gate](std::string_view text) { gate.pass(std::string(text)); });
}

// The handler goes back to the default (stderr) when a test ends.
struct default_handler_at_end {
  ~default_handler_at_end() {
    fitwatch::flush_reports(5s);
    fitwatch::set_error_handler(nullptr);
  }
};

}  // namespace

TEST_CASE(
    "diagnostics: a full queue keeps the first reports, and the next delivered one counts the "
    "dropped") {
  const default_handler_at_end restore;
  delivery_gate gate;
  gate.close();
  arm(gate);
  report("m0");
  REQUIRE(gate.wait_entered(1));  // the diagnostics thread is held in the handler
  for (int i = 1; i <= 200; ++i) {
    arm(gate);
    report("m" + std::to_string(i));
  }
  gate.open();
  REQUIRE(fitwatch::flush_reports(10s));
  const auto delivered = gate.delivered();
  REQUIRE(delivered.size() == 65);  // the one in the handler and the queue's 64
  CHECK(delivered[0] == "m0");
  CHECK(delivered[1] == "m1 (136 more reports dropped: stderr is not read)");
  CHECK(delivered[64] == "m64");
}

TEST_CASE("diagnostics: a report that must not be lost gets past a full queue") {
  const default_handler_at_end restore;
  delivery_gate gate;
  gate.close();
  arm(gate);
  report("m0");
  REQUIRE(gate.wait_entered(1));
  for (int i = 1; i <= 64; ++i) {
    arm(gate);
    report("m" + std::to_string(i));
  }
  report("SIGTERM: lines lost", urgency::always);  // as src/sigterm.cpp reports data loss
  for (int i = 65; i <= 80; ++i) {
    arm(gate);
    report("m" + std::to_string(i));
  }
  gate.open();
  REQUIRE(fitwatch::flush_reports(10s));
  const auto delivered = gate.delivered();
  CHECK(delivered.size() == 66);
  CHECK(std::count(delivered.begin(), delivered.end(), "SIGTERM: lines lost") == 1);
}

TEST_CASE("diagnostics: a forked child's report is delivered by the child's own thread") {
  const default_handler_at_end restore;
  test_pipe out;
  const int fd = out.fd[1];
  fitwatch::set_error_handler(
      [fd](std::string_view text) { fitwatch::test::write_line(fd, text); });
  report("parent report", urgency::always);  // the parent's diagnostics thread runs
  REQUIRE(fitwatch::flush_reports(5s));
  REQUIRE(out.read_until("parent report\n", 5s).find("parent report\n") != std::string::npos);
  const auto status = run_child(
      [] {
        report("child report", urgency::always);
        return fitwatch::flush_reports(2s) ? 0 : 3;  // 3: nobody delivers in the child
      },
      10s);
  REQUIRE_MESSAGE(status.has_value(), "the child hung");
  REQUIRE(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(out.read_until("child report\n", 2s).find("child report\n") != std::string::npos);
}

TEST_CASE("diagnostics: exit with stderr stalled and reports queued ends in time") {
  test_pipe err;
  err.fill();  // nobody reads: the diagnostics thread blocks in write(2)
  const int fd = err.fd[1];
  const auto status = run_child(
      [fd] {
        ::dup2(fd, STDERR_FILENO);
        fitwatch::set_error_handler(nullptr);  // the default: one write(2) to stderr
        for (int i = 0; i < 100; ++i) report("queued report", urgency::always);
        std::exit(0);  // the exit handler waits 0.5 s at most for the queue
        return 0;
      },
      10s);
  REQUIRE_MESSAGE(status.has_value(), "exit blocked on the stalled stderr");
  CHECK(WIFEXITED(*status));
}
