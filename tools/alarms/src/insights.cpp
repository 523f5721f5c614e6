#include "alarms/insights.hpp"

#include <cctype>
#include <map>
#include <regex>

#include "alarms/error.hpp"

namespace fitwatch::alarms {

std::optional<insights_query> parse_insights(const std::string& e, const std::string& where) {
  if (e.find("SELECT") == std::string::npos) return std::nullopt;
  static const std::regex re(
      R"re(^\s*SELECT\s+(AVG|MAX|MIN|SUM|COUNT)\s*\(\s*"?(\w+)"?\s*\)\s+FROM\s+SCHEMA\s*\(\s*"([^"]+)"((?:\s*,\s*"?\w+"?)*)\s*\)\s+GROUP\s+BY\s+"?(\w+)"?(\s+ORDER\s+BY\s+(AVG|MAX|MIN|SUM|COUNT)\s*\(\s*\)\s+(ASC|DESC))?(\s+LIMIT\s+\d+)?\s*$)re",
      std::regex::icase);
  std::smatch m;
  if (!std::regex_match(e, m, re)) {
    throw alarm_error(where +
                      ": this Metrics Insights query is beyond what fitwatch replay "
                      "evaluates (SELECT FN(metric) FROM SCHEMA(...) GROUP BY dim): " +
                      e);
  }
  insights_query q{m[1].str(), m[2].str(), m[3].str(), {}, m[5].str()};
  std::string dims = m[4].str();
  static const std::regex dim(R"re("?(\w+)"?)re");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim); it != std::sregex_iterator();
       ++it) {
    q.schema_dims.push_back((*it)[1].str());
  }
  for (auto& c : q.fn) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return q;
}

const std::string& insights_statistic(const std::string& fn) {
  static const std::map<std::string, std::string> stats = {{"MAX", "Maximum"},
                                                           {"MIN", "Minimum"},
                                                           {"SUM", "Sum"},
                                                           {"AVG", "Average"},
                                                           {"COUNT", "SampleCount"}};
  return stats.at(fn);
}

}  // namespace fitwatch::alarms
