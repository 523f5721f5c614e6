// libFuzzer target: the EMF line reader (validation + metric extraction), as
// fitwatch validate/replay/watch run it on every log line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "emf/inspect.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  // Validation and extraction of every series, as the metric store reads it.
  fitwatch::emf::extracted_event event;
  fitwatch::emf::validate_line(line, {}, &event);
  return 0;
}
