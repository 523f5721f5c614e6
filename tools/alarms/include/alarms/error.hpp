// The error of the alarm model: an alarm that CloudWatch would reject or that
// fitwatch cannot evaluate (an unknown statistic, a malformed AlarmRule,
// metric math with the wrong arguments). what() names the resource, the
// language and the construct. The template reader's template_error derives
// from it, so one catch covers every way a template can be wrong.
#pragma once

#include <stdexcept>

namespace fitwatch::alarms {

class alarm_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace fitwatch::alarms
