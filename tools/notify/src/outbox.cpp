#include "notify/outbox.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace fitwatch::notify {

void make_outbox(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create outbox " + dir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error("outbox " + dir + " is not a directory");
  }
}

std::string write_outbox_file(const std::string& path, const std::string& text) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // The kernel would say so only at rename(); say it before writing anything.
  const long max_name = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  if (max_name > 0 && base.size() > static_cast<std::size_t>(max_name)) {
    return "file name of " + std::to_string(base.size()) + " bytes is longer than the " +
           std::to_string(max_name) + " the file system allows";
  }
  std::string tmp = dir + "/.fitwatch-eml-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC | O_NOFOLLOW);  // O_EXCL by design
  if (fd < 0) return std::strerror(errno);
  std::string error;
  for (std::size_t done = 0; done < text.size() && error.empty();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) error = n < 0 ? std::strerror(errno) : "short write";
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (error.empty() && ::fchmod(fd, 0644) != 0) error = std::strerror(errno);
  if (::close(fd) != 0 && error.empty()) error = std::strerror(errno);
  if (error.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) error = std::strerror(errno);
  if (!error.empty()) ::unlink(tmp.c_str());
  return error;
}

}  // namespace fitwatch::notify
