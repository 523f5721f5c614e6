// fitwatch doing the peer benchmark's work (bench/node/peers.js): one
// namespace, dimension TrainingJobName, 8 metrics (units set, 2 high
// resolution), 2 properties, one EMF line per evaluation to stdout.
// usage: peer_fitwatch async|sync EVALUATIONS
//   async: the default logger (background writer): the training thread's cost
//   sync:  serialize and write on the calling thread: the whole work
// prints {"peer", "evaluations", "ns_per_evaluation", "peak_rss_kb"} on stderr.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fitwatch/logger.hpp"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "async";
  const long n = argc > 2 ? std::stol(argv[2]) : 200000;
  fitwatch::logger_options o;
  o.job_name = "bench";
  o.background_writer = mode != "sync";
  o.overflow = fitwatch::overflow_policy::block;  // every line written, as the peers do
  fitwatch::logger log{o};
  const char* names[] = {"TrainLoss",          "ValidationLoss",     "TrainAccuracy",
                         "ValidationAccuracy", "GeneralizationGap",  "RiseStreak",
                         "SinceBest",          "OverfittingDetected"};
  std::vector<fitwatch::metric_id> ids;
  for (int m = 0; m < 8; ++m) {
    ids.push_back(log.metric(names[m],
                             m == 2 || m == 3 ? fitwatch::unit::percent : fitwatch::unit::none,
                             m < 2 ? fitwatch::resolution::high : fitwatch::resolution::standard));
  }
  const auto epoch = log.property("epoch");
  const auto lr = log.property("learning_rate");
  const auto one = [&](long i) {
    log.set(epoch, std::int64_t{i});
    log.set(lr, 0.001);
    for (int m = 0; m < 8; ++m) log.put(ids[m], 0.25 + 0.001 * static_cast<double>(i % 100) + m);
    log.flush();
  };
  const long warmup = std::min(20000L, n);
  for (long i = 0; i < warmup; ++i) one(i);
  log.drain(std::chrono::seconds(30));
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) one(i);
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  log.drain(std::chrono::seconds(60));
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  std::fprintf(stderr,
               "{\"peer\":\"fitwatch-%s\",\"evaluations\":%ld,\"ns_per_evaluation\":%.1f,\"peak_"
               "rss_kb\":%ld}\n",
               mode.c_str(), n, ns / static_cast<double>(n), u.ru_maxrss);
  return 0;
}
