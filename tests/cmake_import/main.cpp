#include <fitwatch/logger.hpp>

int main() {
  fitwatch::logger_options options;
  options.job_name = "consumer";
  fitwatch::logger log{options};
  log.put(log.metric("ConsumerMetric", fitwatch::unit::count), 1);
  log.flush();
}
