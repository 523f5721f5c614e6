// The logger: SageMaker defaults, dimensions, threads, allocation-free
// steady state, flush on destruction.
#include <cstdlib>
#include <new>

#include "fitwatch/logger.hpp"
#include "support.hpp"

using fitwatch::logger;
using fitwatch::logger_options;
using fitwatch::resolution;
using fitwatch::unit;
using nlohmann::json;

// Counts heap allocations made by this thread while `counting` is set.
namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

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
  auto out = std::make_shared<fitwatch::async_sink>(inner);
  constexpr int threads = 4;
  constexpr int evaluations = 500;
  {
    logger log{capture_to(out)};
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
  CHECK(out->dropped() == 0);
}

namespace {
class null_sink : public fitwatch::sink {
 public:
  void write(std::string_view line) noexcept override { bytes += line.size(); }
  std::size_t bytes = 0;
};
}  // namespace

TEST_CASE("recording and flushing allocate nothing once the loop is warm") {
  scoped_env env;
  // The async queue recycles line buffers; it needs one more only when its
  // backlog reaches a new depth. Draining after each evaluation (as a queue
  // does between epochs) keeps the depth at one.
  auto out = std::make_shared<fitwatch::async_sink>(std::make_shared<null_sink>());
  logger log{capture_to(out)};
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
