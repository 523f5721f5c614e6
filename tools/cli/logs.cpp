#include "logs.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>

namespace fitwatch::tools {
namespace {

// False if the stream stopped on an error rather than at its end.
bool read_all(std::istream& from, const std::string& name, const line_fn& line) {
  std::string text;
  std::size_t number = 0;
  while (std::getline(from, text)) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    line(text, name, ++number);
  }
  return !from.bad();
}

}  // namespace

int read_logs(const std::vector<std::string>& files, std::istream& in, const char* command,
              std::ostream& err, const line_fn& line) {
  if (files.empty()) {
    if (read_all(in, "<stdin>", line)) return 0;
    err << command << ": cannot read <stdin>\n";
    return 2;
  }
  for (const auto& path : files) {
    // A directory opens as a file and reads as empty: ask first.
    struct stat st {};
    const bool is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    std::ifstream f;
    if (!is_dir) f.open(path, std::ios::binary);
    if (is_dir || !f) {
      err << command << ": cannot read " << path << ": "
          << (is_dir ? "it is a directory" : std::strerror(errno)) << "\n";
      return 2;
    }
    if (!read_all(f, path, line)) {
      err << command << ": cannot read " << path << ": read error\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace fitwatch::tools
