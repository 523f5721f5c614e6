// libFuzzer target: the template reader (YAML/JSON parse, evaluation, and
// the alarm engine's checks). alarm_error (template_error derives from it) is
// the expected way to fail.
#include <cstddef>
#include <cstdint>
#include <string>

#include "alarms/engine.hpp"
#include "cfn/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto t = fitwatch::cfn::parse_template(text);
    fitwatch::cfn::template_options o;
    o.parameters = {{"TrainingJobName", "job"}, {"TeamEmails", "a@example.com"}};
    const auto model = fitwatch::cfn::evaluate_template(t, o);
    fitwatch::alarms::engine e{model};
    e.advance_to(60000);
  } catch (const fitwatch::alarms::alarm_error&) {
  }
  return 0;
}
