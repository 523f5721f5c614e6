// The logger: SageMaker defaults, dimensions, threads, allocation-free
// steady state, flush on destruction.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <new>

#include "fitwatch/limits.hpp"
#include "fitwatch/logger.hpp"
#include "support.hpp"

using fitwatch::logger;
using fitwatch::logger_options;
using fitwatch::resolution;
using fitwatch::unit;
using nlohmann::json;

// Counts heap allocations made by this thread while `counting` is set. Not
// under AddressSanitizer, whose own operator new some libraries bind to.
#if defined(__SANITIZE_ADDRESS__)
#define FITWATCH_COUNT_ALLOCATIONS 0
#else
#define FITWATCH_COUNT_ALLOCATIONS 1
namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// GCC 12 cannot tell that the replaced operator new above allocates with
// malloc, and warns that free() is mismatched; it is not.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

#endif

namespace {

// Sets (or unsets) environment variables for one test.
struct scoped_env {
  scoped_env(std::initializer_list<std::pair<const char*, const char*>> vars = {}) {
    for (const char* name :
         {"TRAINING_JOB_NAME", "SM_TRAINING_ENV", "SM_CURRENT_HOST", "SM_HOSTS"}) {
      ::unsetenv(name);
    }
    for (const auto& [name, value] : vars) ::setenv(name, value, 1);
  }
  ~scoped_env() {
    for (const char* name :
         {"TRAINING_JOB_NAME", "SM_TRAINING_ENV", "SM_CURRENT_HOST", "SM_HOSTS"}) {
      ::unsetenv(name);
    }
  }
};

logger_options capture_to(const std::shared_ptr<fitwatch::sink>& out) {
  logger_options o;
  o.output = out;
  o.flush_on_sigterm = false;
  return o;
}

std::vector<json> events(fitwatch::test::capture_sink& sink) {
  std::vector<json> out;
  for (const auto& l : sink.snapshot()) out.push_back(fitwatch::test::parse_emf(l));
  return out;
}

}  // namespace

TEST_CASE("TrainingJobName comes from the SageMaker environment, in order") {
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  auto options = capture_to(sink);
  options.job_name = "from-options";

  SUBCASE("TRAINING_JOB_NAME first") {
    scoped_env env{{"TRAINING_JOB_NAME", "job-a"},
                   {"SM_TRAINING_ENV", R"({"job_name":"job-b","current_host":"algo-2"})"}};
    logger log{options};
    CHECK(log.job_name() == "job-a");
    CHECK(log.environment().current_host == "algo-2");
  }
  SUBCASE("then job_name in SM_TRAINING_ENV") {
    scoped_env env{{"SM_TRAINING_ENV", R"({"job_name":"job-b","hosts":["algo-1","algo-2"]})"},
                   {"SM_CURRENT_HOST", "algo-2"}};
    logger log{options};
    CHECK(log.job_name() == "job-b");
    CHECK(log.environment().hosts == std::vector<std::string>{"algo-1", "algo-2"});
    CHECK_FALSE(log.environment().is_primary_host());
  }
  SUBCASE("then the name passed in") {
    scoped_env env{{"SM_TRAINING_ENV", "{not json"}};  // ignored, never fatal
    logger log{options};
    CHECK(log.job_name() == "from-options");
  }
  SUBCASE("else local") {
    scoped_env env;
    options.job_name.clear();
    logger log{options};
    CHECK(log.job_name() == "local");
    CHECK(log.environment().is_primary_host());
  }
}

TEST_CASE("default dimension and Host property on a line") {
  scoped_env env{{"TRAINING_JOB_NAME", "job-7"},
                 {"SM_CURRENT_HOST", "algo-1"},
                 {"SM_HOSTS", R"(["algo-1","algo-2"])"}};
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  {
    logger log{capture_to(sink)};
    CHECK(log.environment().is_primary_host());
    log.put(log.metric("ValidationLoss", unit::none, resolution::high), 0.25);
    log.flush_at(1700000000000);
  }
  const auto e = events(*sink);
  REQUIRE(e.size() == 1);
  CHECK(e[0] == json::parse(R"({"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[
    {"Namespace":"FitWatch","Dimensions":[["TrainingJobName"]],
     "Metrics":[{"Name":"ValidationLoss","Unit":"None","StorageResolution":1}]}]},
    "TrainingJobName":"job-7","Host":"algo-1","ValidationLoss":0.25})"));
}

TEST_CASE("default dimensions can be replaced or turned off") {
  scoped_env env;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  SUBCASE("off") {
    auto options = capture_to(sink);
    options.default_dimensions = false;
    logger log{options};
    log.put(log.metric("M"), 1);
    log.flush();
    REQUIRE(log.drain(std::chrono::seconds(5)));
    const auto e = events(*sink).at(0);
    CHECK(e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == json::parse("[[]]"));
    CHECK_FALSE(e.contains("TrainingJobName"));
  }
  SUBCASE("replaced") {
    logger log{capture_to(sink)};
    log.set_dimensions({{{"Model", "mlp"}}});
    log.add_dimensions({{"Model", "mlp"}, {"Team", "vision"}});
    log.put(log.metric("M"), 1);
    log.flush();
    REQUIRE(log.drain(std::chrono::seconds(5)));
    const auto e = events(*sink).at(0);
    CHECK(e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] ==
          json::parse(R"([["Model"],["Model","Team"]])"));
    CHECK_FALSE(e.contains("TrainingJobName"));
    CHECK(e["Team"] == "vision");
  }
}

TEST_CASE("set-up errors throw, with the name") {
  scoped_env env;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  auto options = capture_to(sink);
  options.namespace_name = "";
  CHECK_THROWS_WITH_AS(logger{options}, doctest::Contains("invalid namespace"), fitwatch::error);
  logger log{capture_to(sink)};
  CHECK_THROWS_WITH_AS(log.metric("TrainingJobName"), doctest::Contains("\"TrainingJobName\""),
                       fitwatch::error);
}

TEST_CASE("a NaN loss never produces an invalid line") {
  scoped_env env;
  fitwatch::test::capture_reports reports;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  logger log{capture_to(sink)};
  const auto loss = log.metric("TrainLoss");
  const auto acc = log.metric("TrainAccuracy", unit::percent);
  log.put(loss, std::nan(""));
  log.put(acc, 50);
  log.flush();
  log.put(loss, std::numeric_limits<double>::infinity());
  log.flush();  // nothing valid in this evaluation: no line
  CHECK(log.dropped_values() == 2);
  REQUIRE(log.drain(std::chrono::seconds(5)));
  const auto e = events(*sink);
  REQUIRE(e.size() == 1);
  CHECK_FALSE(e[0].contains("TrainLoss"));
  CHECK(e[0]["TrainAccuracy"] == 50);
}

TEST_CASE("the destructor flushes pending values") {
  scoped_env env;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  {
    logger log{capture_to(sink)};
    log.put(log.metric("M"), 42);
  }
  const auto e = events(*sink);
  REQUIRE(e.size() == 1);
  CHECK(e[0]["M"] == 42);
}

TEST_CASE("several threads: every line parses, no value is lost") {
  scoped_env env;
  auto inner = std::make_shared<fitwatch::test::capture_sink>();
  constexpr int threads = 4;
  constexpr int evaluations = 500;
  std::uint64_t dropped = 0;
  {
    auto options = capture_to(inner);
    options.overflow = fitwatch::overflow_policy::block;  // this test counts every value
    logger log{options};
    std::vector<fitwatch::metric_id> ids;
    for (int t = 0; t < threads; ++t) ids.push_back(log.metric("T" + std::to_string(t)));
    const auto step = log.property("step");
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < evaluations; ++i) {
          log.set(step, std::int64_t{i});
          log.put(ids[t], i);
          log.flush();
        }
      });
    }
    for (auto& w : workers) w.join();
    dropped = log.dropped_evaluations();
  }
  std::vector<double> sums(threads, 0.0);
  for (const auto& e : events(*inner)) {
    for (int t = 0; t < threads; ++t) {
      const auto key = "T" + std::to_string(t);
      if (!e.contains(key)) continue;
      if (e[key].is_array()) {
        for (const auto& v : e[key]) sums[t] += v.get<double>();
      } else {
        sums[t] += e[key].get<double>();
      }
    }
  }
  for (int t = 0; t < threads; ++t) CHECK(sums[t] == evaluations * (evaluations - 1) / 2);
  CHECK(dropped == 0);
}

#if FITWATCH_COUNT_ALLOCATIONS
namespace {
class null_sink : public fitwatch::sink {
 public:
  void write(std::string_view line) noexcept override { bytes += line.size(); }
  std::size_t bytes = 0;
};
}  // namespace

TEST_CASE("recording and flushing allocate nothing once the loop is warm") {
  scoped_env env;
  // The queue recycles frames; a frame slot used for the first time has no
  // buffers yet. Draining after each evaluation (as the writer does between
  // epochs) keeps the loop on warm slots.
  logger_options options = capture_to(std::make_shared<null_sink>());
  options.queue_capacity = 4;
  logger log{options};
  std::vector<fitwatch::metric_id> ids;
  for (int m = 0; m < 8; ++m)
    ids.push_back(log.metric("M" + std::to_string(m), unit::none,
                             m < 2 ? resolution::high : resolution::standard));
  const auto epoch = log.property("epoch");
  const auto phase = log.property("phase");
  bool was_counting = false;
  const auto one_evaluation = [&](int i) {
    log.set(epoch, std::int64_t{i});
    log.set(phase, "validation");
    for (const auto id : ids) log.put(id, 0.001 * i);
    log.flush_at(1700000000000 + i);
    counting = false;  // the wait itself is not the training loop's cost
    log.drain(std::chrono::seconds(5));
    counting = was_counting;
  };
  for (int i = 0; i < 100; ++i) one_evaluation(i);  // warm-up: buffers grow
  allocations = 0;
  counting = was_counting = true;
  for (int i = 100; i < 1100; ++i) one_evaluation(i);
  counting = was_counting = false;
  CHECK(allocations == 0);
}

TEST_CASE("with the default queue, the training thread stops allocating after two evaluations") {
  // While the writer keeps up, it hands its spent frame to the slot filled
  // next, so the 1024 slots are not given buffers one evaluation at a time
  // (allocations between the model's, which cost a training loop page faults).
  scoped_env env;
  logger log{capture_to(std::make_shared<null_sink>())};
  const auto loss = log.metric("Loss", unit::none);
  const auto phase = log.property("phase");
  const auto one_evaluation = [&](int i) {
    log.set(phase, "a property longer than the small-string buffer");
    log.put(loss, 0.001 * i);
    log.flush_at(1700000000000 + i);
  };
  for (int i = 0; i < 2; ++i) {
    one_evaluation(i);
    log.drain(std::chrono::seconds(5));
  }
  for (int i = 2; i < 1200; ++i) {
    counting = true;
    one_evaluation(i);
    counting = false;
    log.drain(std::chrono::seconds(5));
  }
  CHECK(allocations == 0);
}
#endif

TEST_CASE("the queue with a stalled consumer: the training thread never waits") {
  scoped_env env;
  fitwatch::test::capture_reports reports;
  auto gate = std::make_shared<fitwatch::test::gate_sink>();
  auto options = capture_to(gate);
  options.queue_capacity = 4;
  std::vector<double> expected;
  SUBCASE("drop_oldest keeps the newest evaluations") {
    options.overflow = fitwatch::overflow_policy::drop_oldest;
    expected = {0, 7, 8, 9, 10};  // 0 is in the writer's hands; 1..10 compete for 4 places
  }
  SUBCASE("drop_newest keeps the oldest evaluations") {
    options.overflow = fitwatch::overflow_policy::drop_newest;
    expected = {0, 1, 2, 3, 4};
  }
  std::vector<double> got;
  {
    logger log{options};
    const auto m = log.metric("M");
    log.put(m, 0);
    log.flush();
    gate->wait_entered(1);  // the writer is stuck on evaluation 0
    for (int i = 1; i <= 10; ++i) {
      log.put(m, i);
      log.flush();  // returns at once
    }
    CHECK(log.dropped_evaluations() == 6);
    CHECK_FALSE(log.drain(std::chrono::milliseconds(50)));  // stalled: gives up at its bound
    gate->open();
    CHECK(log.drain(std::chrono::seconds(5)));
  }
  for (const auto& l : gate->lines())
    got.push_back(fitwatch::test::parse_emf(l)["M"].get<double>());
  CHECK(got == expected);
  const auto messages = reports.all();
  REQUIRE_FALSE(messages.empty());
  CHECK(messages[0].find("metric queue full") != std::string::npos);
}

TEST_CASE("the block policy loses nothing") {
  scoped_env env;
  auto gate = std::make_shared<fitwatch::test::gate_sink>();
  auto options = capture_to(gate);
  options.queue_capacity = 2;
  options.overflow = fitwatch::overflow_policy::block;
  logger log{options};
  const auto m = log.metric("M");
  std::thread producer([&] {
    for (int i = 0; i < 20; ++i) {
      log.put(m, i);
      log.flush();
    }
  });
  gate->wait_entered(1);
  gate->open();
  producer.join();
  CHECK(log.drain(std::chrono::seconds(5)));
  const auto lines = gate->lines();
  REQUIRE(lines.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK(fitwatch::test::parse_emf(lines[i])["M"] == i);
  CHECK(log.dropped_evaluations() == 0);
}

TEST_CASE("a stdout pipe nobody reads blocks neither flush() nor shutdown") {
  scoped_env env;
  fitwatch::test::capture_reports reports;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  {
    auto options = capture_to(std::make_shared<fitwatch::fd_sink>(fds[1]));
    options.queue_capacity = 16;
    options.shutdown_timeout = std::chrono::milliseconds(200);
    logger log{options};
    const auto big = log.property("payload");
    log.set(big, std::string(1000, 'x'));
    const auto m = log.metric("M");
    for (int i = 0; i < 2000; ++i) {  // ~2 MB into a 64 KB pipe
      log.put(m, i);
      log.flush();
    }
    CHECK(log.dropped_evaluations() > 0);
  }                 // the destructor returns after its bound although the writer is stuck
  ::close(fds[0]);  // now the stuck write fails with EPIPE and the writer ends
  // fds[1] stays open: the detached writer may still be returning from its
  // write, and closing it under that thread would race.
  bool reported = false;
  for (const auto& m : reports.all()) reported |= m.find("queue full") != std::string::npos;
  CHECK(reported);
}

TEST_CASE("without the background writer, flush() writes on the calling thread") {
  scoped_env env;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  auto options = capture_to(sink);
  options.background_writer = false;
  logger log{options};
  log.put(log.metric("M"), 3);
  log.flush_at(1000);
  const auto e = events(*sink);  // no drain needed
  REQUIRE(e.size() == 1);
  CHECK(e[0]["M"] == 3);
  CHECK(e[0]["_aws"]["Timestamp"] == 1000);
}

TEST_CASE("queued evaluations are written several lines per write, never over PIPE_BUF") {
  scoped_env env;
  auto gate = std::make_shared<fitwatch::test::gate_sink>();
  auto options = capture_to(gate);
  options.overflow = fitwatch::overflow_policy::block;
  logger log{options};
  const auto m = log.metric("M");
  log.put(m, 0);
  log.flush();
  gate->wait_entered(1);  // the writer holds evaluation 0; the rest queue up
  for (int i = 1; i < 60; ++i) {
    log.put(m, i);
    log.flush();
  }
  gate->open();
  REQUIRE(log.drain(std::chrono::seconds(5)));
  const auto lines = gate->lines();
  REQUIRE(lines.size() == 60);
  for (int i = 0; i < 60; ++i) CHECK(fitwatch::test::parse_emf(lines[i])["M"] == i);
  CHECK(gate->writes() < 20);        // batched: a write(2) carries several lines
  CHECK(gate->max_write() <= 4096);  // and stays atomic on a pipe
}

TEST_CASE("a diagnostic never blocks the thread that found the problem") {
  // The error handler runs on fitwatch's diagnostics thread: a handler stuck
  // like a write to a stderr nobody reads must not stall put() or flush().
  scoped_env env;
  std::mutex gate;
  std::unique_lock<std::mutex> closed(gate);
  std::atomic<int> calls{0};
  fitwatch::set_error_handler([&](std::string_view) {
    ++calls;
    const std::lock_guard<std::mutex> wait_for_the_gate(gate);
  });
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  auto options = fitwatch::test::quiet_options(sink);
  std::atomic<bool> done{false};
  std::thread training([&] {
    logger log{options};
    const auto m = log.metric("Loss");
    for (int i = 0; i < 3000; ++i) {  // 3 s: several reports get past the rate limit
      log.put(m, std::nan(""));       // reported
      log.put(m, i);
      log.flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(done.load());  // the loop finished while the handler was stuck
  CHECK(calls.load() == 1);
  closed.unlock();  // let the handler (and so a blocked loop, before the fix) go
  training.join();
  CHECK(fitwatch::flush_reports(std::chrono::seconds(10)));
  CHECK(calls.load() >= 2);  // queued reports are delivered once the handler is free
  fitwatch::set_error_handler({});
  CHECK(sink->snapshot().size() == 3000);
}

namespace {

// The values of each metric over all lines, and checks that every line is
// valid EMF of at most `max_bytes`, with the same timestamp.
std::map<std::string, std::vector<double>> values_by_metric(const std::vector<std::string>& lines,
                                                            std::size_t max_bytes) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& line : lines) {
    CHECK(line.size() <= max_bytes);
    const auto e = fitwatch::test::parse_emf(line);
    CHECK(e["_aws"]["Timestamp"] == 1700000000000);
    for (const auto& m : e["_aws"]["CloudWatchMetrics"][0]["Metrics"]) {
      const auto name = m["Name"].get<std::string>();
      const auto& v = e[name];
      if (v.is_array()) {
        for (const auto& x : v) out[name].push_back(x.get<double>());
      } else {
        out[name].push_back(v.get<double>());
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("an evaluation over PIPE_BUF is split into lines of at most 4096 bytes, losing nothing") {
  scoped_env env;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  logger log{fitwatch::test::quiet_options(sink)};
  CHECK(fitwatch::limits::pipe_buf == 4096);
  std::vector<fitwatch::metric_id> ids;
  for (int k = 0; k < 60; ++k) {
    ids.push_back(log.metric("AMetricNameLongEnoughToNeedSeveralLines" + std::to_string(100 + k),
                             unit::none, resolution::high));
  }
  const auto epoch = log.property("epoch");
  log.set(epoch, std::int64_t{7});
  std::map<std::string, std::vector<double>> expected;
  for (int k = 0; k < 60; ++k) {
    const int count = k == 0 ? 250 : 1 + k % 3;  // 250: more than 100 values as well
    for (int v = 0; v < count; ++v) {
      log.put(ids[k], 0.001 * v - k);
      expected["AMetricNameLongEnoughToNeedSeveralLines" + std::to_string(100 + k)].push_back(
          0.001 * v - k);
    }
  }
  log.flush_at(1700000000000);
  const auto lines = sink->snapshot();
  CHECK(lines.size() > 3);
  CHECK(values_by_metric(lines, 4096) == expected);
  for (const auto& line : lines) {
    const auto e = fitwatch::test::parse_emf(line);
    CHECK(e["epoch"] == 7);  // every line carries the dimensions and properties
    CHECK(e["TrainingJobName"] == "job");
  }
}

TEST_CASE("one metric's values too long for one line are spread over several lines") {
  scoped_env env;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  logger log{fitwatch::test::quiet_options(sink)};
  log.set_dimensions({{{"TrainingJobName", "job"}, {"Notes", std::string(1024, 'n')}}});
  const std::string name(255, 'M');
  const auto m = log.metric(name);
  std::vector<double> expected;
  for (int v = 0; v < 100; ++v) {
    log.put(m, -1.7976931348623157e308);  // the longest number text
    expected.push_back(-1.7976931348623157e308);
  }
  log.flush_at(1700000000000);
  const auto lines = sink->snapshot();
  CHECK(lines.size() >= 2);
  CHECK(values_by_metric(lines, 4096)[name] == expected);
}

TEST_CASE("a property too long for a line is left out of every line and reported, others stay") {
  scoped_env env;
  fitwatch::test::capture_reports reports;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  auto options = fitwatch::test::quiet_options(sink);
  SUBCASE("lines of at most PIPE_BUF (default): the long property is left out") {
    logger log{options};
    log.set(log.property("hyperparameters"), std::string(3000, 'h'));
    log.set(log.property("epoch"), std::int64_t{3});
    log.put(log.metric("Loss"), 0.5);
    log.flush_at(1700000000000);
    const auto lines = sink->snapshot();
    REQUIRE(lines.size() == 1);
    const auto e = fitwatch::test::parse_emf(lines[0]);
    CHECK(lines[0].size() <= 4096);
    CHECK_FALSE(e.contains("hyperparameters"));
    CHECK(e["epoch"] == 3);
    CHECK(e["Loss"] == 0.5);
    bool reported = false;
    for (const auto& m : reports.all()) {
      reported |= m.find("(first: \"hyperparameters\") left out") != std::string::npos;
    }
    CHECK(reported);
  }
  SUBCASE("max_line_bytes raised: it is written") {
    options.max_line_bytes = 1024 * 1024;
    logger log{options};
    log.set(log.property("hyperparameters"), std::string(3000, 'h'));
    log.put(log.metric("Loss"), 0.5);
    log.flush_at(1700000000000);
    const auto lines = sink->snapshot();
    REQUIRE(lines.size() == 1);
    CHECK(fitwatch::test::parse_emf(lines[0])["hyperparameters"] == std::string(3000, 'h'));
  }
  SUBCASE("max_line_bytes out of range: set-up error") {
    options.max_line_bytes = 100;
    CHECK_THROWS_WITH_AS(logger{options}, doctest::Contains("max_line_bytes 100 out of range"),
                         fitwatch::error);
  }
}

TEST_CASE("dimension names and values CloudWatch rejects are refused at set-up, naming them") {
  // API_Dimension: ASCII only, at least one non-whitespace character, no
  // ASCII control characters.
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html
  scoped_env env;
  auto sink = std::make_shared<fitwatch::test::capture_sink>();
  logger log{fitwatch::test::quiet_options(sink)};
  const auto refused = [&](const std::string& name, const std::string& value,
                           const std::string& why) {
    CHECK_THROWS_WITH_AS(log.set_dimensions({{{name, value}}}), doctest::Contains(why.c_str()),
                         fitwatch::error);
  };
  refused("Team", "a\tb",
          "invalid value of dimension \"Team\", \"a\\tb\": contains an ASCII control");
  refused("Team", "a\nb", "invalid value of dimension \"Team\"");
  refused("Team", "del\x7f", "contains an ASCII control character");
  refused("Team", "   ", "invalid value of dimension \"Team\", \"   \": only whitespace");
  refused("Team", "\xc3\xa9quipe",
          "invalid value of dimension \"Team\", \"\xc3\xa9quipe\": not ASCII");
  refused("Te\x01m", "x", "invalid dimension name");
  refused(" ", "x", "invalid dimension name \" \": only whitespace");
  CHECK_THROWS_AS(log.add_dimensions({{"Team", "\x1b[31m"}}), fitwatch::error);
  // The logger is unchanged by a refused call, and spaces inside are fine.
  CHECK_NOTHROW(log.set_dimensions({{{"Team", " vision team "}}}));
  log.put(log.metric("M"), 1);
  log.flush_at(1700000000000);
  CHECK(fitwatch::test::parse_emf(sink->snapshot().at(0))["Team"] == " vision team ");
  // Through the job name too.
  auto options = fitwatch::test::quiet_options(sink, "job\r\nBcc: x");
  CHECK_THROWS_WITH_AS(logger{options}, doctest::Contains("dimension \"TrainingJobName\""),
                       fitwatch::error);
}
