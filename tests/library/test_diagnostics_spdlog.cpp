// spdlog's async logger (thread pool of one thread, a 64-slot queue,
// async_overflow_policy::overrun_oldest), as issue 26 proposed for the
// library's diagnostics: the behaviours that keep fitwatch on its own queue
// (docs/library.md, "Diagnostics"; test_diagnostics.cpp checks fitwatch's
// side). Should a spdlog release change one of them, its test fails, and
// the choice is to be made again. Built only when spdlog is installed.
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "test_diagnostics_support.hpp"

using namespace std::chrono_literals;
using fitwatch::test::delivery_gate;
using fitwatch::test::run_child;
using fitwatch::test::test_pipe;

namespace {

constexpr std::size_t slots = 64;  // fitwatch's queue holds 64 as well

// Hands each message to a gate (a stderr that can stall).
class gate_sink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit gate_sink(delivery_gate& gate) : gate_(gate) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    gate_.pass(std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  delivery_gate& gate_;
};

// One line per message with one write(2) to a descriptor.
class fd_sink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit fd_sink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    fitwatch::test::write_line(fd_, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  int fd_;
};

struct async_setup {
  explicit async_setup(spdlog::sink_ptr sink)
      : pool(std::make_shared<spdlog::details::thread_pool>(slots, 1)),
        log(std::make_shared<spdlog::async_logger>(
            "diagnostics", std::move(sink), pool, spdlog::async_overflow_policy::overrun_oldest)) {}
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<spdlog::async_logger> log;
};

}  // namespace

TEST_CASE("spdlog: overrun_oldest loses the first messages, and no delivered one says so") {
  delivery_gate gate;
  async_setup s(std::make_shared<gate_sink>(gate));
  gate.close();
  s.log->warn("m0");
  REQUIRE(gate.wait_entered(1));  // the pool's thread is held in the sink
  for (int i = 1; i <= 200; ++i) s.log->warn("m" + std::to_string(i));
  CHECK(s.pool->overrun_counter() == 136);  // counted per pool, apart from the messages
  gate.open();
  REQUIRE(gate.wait_delivered(65));
  std::this_thread::sleep_for(100ms);
  const auto delivered = gate.delivered();
  REQUIRE(delivered.size() == 65);
  CHECK(delivered[0] == "m0");
  CHECK(delivered[1] == "m137");  // m1..m136, the first reports (often the cause), are gone
  CHECK(delivered[64] == "m200");
  for (const auto& text : delivered) CHECK(text.find("dropped") == std::string::npos);
}

TEST_CASE("spdlog: a message that must not be lost is overrun like any other") {
  delivery_gate gate;
  async_setup s(std::make_shared<gate_sink>(gate));
  gate.close();
  s.log->warn("m0");
  REQUIRE(gate.wait_entered(1));
  s.log->critical("SIGTERM: lines lost");  // no level or flag keeps it in a full queue
  for (int i = 1; i <= 64; ++i) s.log->warn("m" + std::to_string(i));
  gate.open();
  REQUIRE(gate.wait_delivered(65));
  std::this_thread::sleep_for(100ms);
  const auto delivered = gate.delivered();
  CHECK(delivered.size() == 65);
  CHECK(std::count(delivered.begin(), delivered.end(), "SIGTERM: lines lost") == 0);
}

TEST_CASE("spdlog: flush() returns before the queued messages are written") {
  delivery_gate gate;
  async_setup s(std::make_shared<gate_sink>(gate));
  gate.close();
  s.log->warn("m0");
  REQUIRE(gate.wait_entered(1));
  s.log->warn("m1");
  const auto start = std::chrono::steady_clock::now();
  s.log->flush();  // only queues a flush request: there is no wait, with or without a timeout
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(gate.delivered().empty());
  gate.open();
  CHECK(gate.wait_delivered(2));
}

TEST_CASE("spdlog: a forked child's message is lost, and dropping its pool may hang") {
  test_pipe out;
  auto s = std::make_unique<async_setup>(std::make_shared<fd_sink>(out.fd[1]));
  s->log->warn("parent message");  // the pool's thread runs
  REQUIRE(out.read_until("parent message\n", 5s).find("parent message\n") != std::string::npos);
  std::this_thread::sleep_for(200ms);  // the pool's thread waits on its queue, as when idle
  const int fd = out.fd[1];
  const auto status = run_child(
      [&s, fd] {
        s->log->warn("child message");
        s->log->flush();
        std::this_thread::sleep_for(300ms);
        fitwatch::test::write_line(fd, "child: before the pool's destructor");
        s.reset();
        fitwatch::test::write_line(fd, "child: after the pool's destructor");
        return 0;
      },
      5s);  // room for the child to write its lines on a loaded machine
  const std::string text = out.read_until("child: after", 1s);
  MESSAGE("what the child wrote: " << text);
  CHECK(text.find("child: before") != std::string::npos);
  CHECK(text.find("child message") == std::string::npos);  // nobody in the child delivers
  // ~thread_pool joins the parent's thread (glibc lets that pass in a child),
  // then destroys the queue's condition variable, which waits for good for
  // the parent's thread if it was waiting on it at the fork (gdb: in
  // pthread_cond_destroy). It usually was; when not, the child ends.
  WARN_FALSE((status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0));
  s.reset();  // the parent's pool ends as usual
}

TEST_CASE("spdlog: with stderr stalled and the queue full, dropping the pool at exit hangs") {
  test_pipe err;
  err.fill();  // nobody reads: the pool's thread blocks in write(2)
  const int fd = err.fd[1];
  const auto status = run_child(
      [fd] {
        {
          async_setup s(std::make_shared<fd_sink>(fd));
          for (int i = 0; i < 100; ++i) s.log->warn("queued message");
        }  // ~thread_pool queues its stop request with the block policy, then joins
        return 0;
      },
      3s);
  // Still blocked at the deadline. fitwatch: the exit wait is 0.5 s (test_diagnostics.cpp).
  CHECK_FALSE((status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0));
}
