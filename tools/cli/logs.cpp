#include "logs.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

namespace fitwatch::cli {

line_reader::line_reader(std::istream& in, std::size_t max_bytes)
    : in_(in), max_(max_bytes), chunk_(65536) {}

line_reader::status line_reader::next(std::string& text, const spill_fn& spill) {
  text.clear();
  if (done_) return status::end;
  bool long_line = false;     // more than max_ bytes: spilled, never kept
  bool any = false;           // at least one byte, or the newline
  bool first = number_ == 0;  // the line's first bytes are still to come
  const auto take = [&](std::string_view bytes) {
    if (bytes.empty()) return;
    if (long_line) {
      if (spill) spill(bytes);
      return;
    }
    if (first && bytes.substr(0, utf8_bom.size()) == utf8_bom) {
      had_bom_ = true;
      bytes.remove_prefix(utf8_bom.size());
    }
    first = false;
    if (text.size() + bytes.size() <= max_) {
      text.append(bytes);
      return;
    }
    long_line = true;
    if (spill) {
      if (had_bom_ && number_ == 0) spill(utf8_bom);
      spill(text);
      spill(bytes);
    }
    text.clear();
    text.shrink_to_fit();
  };
  for (;;) {
    in_.getline(chunk_.data(), static_cast<std::streamsize>(chunk_.size()));
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (in_.bad()) break;
    if (in_.eof()) {  // no newline: the stream's last bytes (or nothing)
      take({chunk_.data(), got});
      any = any || got > 0;
      done_ = true;
      break;
    }
    if (in_.fail()) {  // the chunk filled before the newline: read on
      in_.clear();
      take({chunk_.data(), got});
      any = true;
      continue;
    }
    take({chunk_.data(), got - 1});  // gcount counts the newline, not stored
    any = true;
    break;
  }
  // A read error looks like the end of the input on std::cin, which reads
  // through C's stdin when synchronised with stdio (the default): ask stdin.
  const bool stdin_error = done_ && &in_ == &std::cin && std::ferror(stdin) != 0;
  if (in_.bad() || stdin_error) {
    done_ = true;
    error_ = "read error";
    return status::failed;
  }
  if (!any) return status::end;
  ++number_;
  return long_line ? status::too_long : status::line;
}

namespace {

// False if the stream stopped on an error rather than at its end (`why`).
bool read_all(std::istream& from, const std::string& name, const char* command, std::ostream& err,
              const line_fn& line,
              const std::function<void(const std::string&, std::size_t)>& too_long,
              std::string& why) {
  line_reader reader(from);
  std::string text;
  for (;;) {
    const auto s = reader.next(text);
    if (s == line_reader::status::end) return true;
    if (s == line_reader::status::failed) {
      why = reader.error();
      return false;
    }
    if (s == line_reader::status::too_long) {
      if (too_long) {
        too_long(name, reader.number());
      } else {
        err << command << ": " << name << ":" << reader.number() << ": line longer than "
            << max_line_bytes << " bytes (skipped)\n";
      }
      continue;
    }
    if (!text.empty() && text.back() == '\r') text.pop_back();
    line(text, name, reader.number());
  }
}

}  // namespace

int read_logs(const std::vector<std::string>& files, std::istream& in, const char* command,
              std::ostream& err, const line_fn& line,
              const std::function<void(const std::string&, std::size_t)>& too_long) {
  std::string why;
  if (files.empty()) {
    if (read_all(in, "<stdin>", command, err, line, too_long, why)) return 0;
    err << command << ": cannot read <stdin>: " << why << "\n";
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
    if (!read_all(f, path, command, err, line, too_long, why)) {
      err << command << ": cannot read " << path << ": " << why << "\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace fitwatch::cli
