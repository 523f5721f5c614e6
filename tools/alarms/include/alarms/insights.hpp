// The Metrics Insights queries an alarm can hold, as far as fitwatch replay
// evaluates them: one series per GROUP BY value (a contributor).
// SELECT FN(Metric) FROM SCHEMA("ns", Dim, ...) GROUP BY Dim [ORDER BY FN() DESC] [LIMIT n]
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-querylanguage.html
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fitwatch::alarms {

struct insights_query {
  std::string fn, metric, ns;  ///< fn: AVG, MAX, MIN, SUM or COUNT
  std::vector<std::string> schema_dims;
  std::string group_by;
};

/// nullopt if `expression` is not a Metrics Insights query (no SELECT).
/// \throw alarm_error naming `where` for a query beyond the form above.
std::optional<insights_query> parse_insights(const std::string& expression,
                                             const std::string& where);

/// The CloudWatch statistic of an Insights function: MAX -> Maximum,
/// COUNT -> SampleCount, ...
const std::string& insights_statistic(const std::string& fn);

}  // namespace fitwatch::alarms
