// The outbox of `fitwatch replay/watch --outbox DIR`: one .eml file per
// email, written so that a file or symlink planted in the directory is
// never followed (a new temporary file, renamed over the name).
#pragma once

#include <string>

namespace fitwatch::notify {

/// Creates `dir` if it does not exist.
/// \throw std::runtime_error if it cannot be created or is not a directory.
void make_outbox(const std::string& dir);

/// Writes `text` to `path`: into a new file created with O_EXCL|O_NOFOLLOW
/// next to it, then renamed over `path` (rename replaces a symlink itself,
/// never its target). Returns the error, empty on success (e.g. "File name
/// too long" for a name over the file system's limit).
std::string write_outbox_file(const std::string& path, const std::string& text);

}  // namespace fitwatch::notify
