// libFuzzer target: the EMF line reader (validate + metric extraction), as
// fitwatch validate/replay/watch run it on every log line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  // Validation, extraction of every series, and storage.
  fitwatch::tools::metric_store store;
  store.add_line(line, 1);
  return 0;
}
