// Runs a command with the given stdin and captures stdout, stderr and the
// exit code (for tests of the fitwatch command and the example).
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.hpp"

namespace fitwatch::test {

struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline command_result run_command(const std::string& command, const std::string& input = {}) {
  // stdin, stdout and stderr go through files of a temporary directory.
  const temp_dir dir;
  const std::string base = dir.file("cmd");
  {
    std::ofstream in(base + ".in", std::ios::binary);
    in << input;
  }
  const std::string full = command + " < " + base + ".in > " + base + ".out 2> " + base + ".err";
  const int status = std::system(full.c_str());
  command_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line + "\n");
  return out;
}

}  // namespace fitwatch::test
