// libFuzzer target: the EMF line reader (validate + metric extraction), as
// fitwatch validate/replay/watch run it on every log line.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "emf_validate.hpp"
#include "engine.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  const auto r = fitwatch::tools::validate_line(line);
  if (r.kind == fitwatch::tools::line_kind::emf) {
    // A line validate accepts must be safe to extract metrics from.
    fitwatch::tools::metric_store store;
    store.add_event(nlohmann::json::parse(line), 1);
  }
  return 0;
}
