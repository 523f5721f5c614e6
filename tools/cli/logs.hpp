// Reading input lines, as every command does (emit, validate, replay,
// watch): with bounded memory, a leading UTF-8 byte order mark removed (Excel
// and PowerShell write one), and a read error told apart from the end.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace fitwatch::cli {

/// The longest line a command reads: CloudWatch Logs' largest event, 1 MB
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html).
/// A longer line can be no EMF event, and no evaluation.
inline constexpr std::size_t max_line_bytes = 1048576;

/// The UTF-8 byte order mark.
inline constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

/// Reads the lines of one stream, one at a time, never holding more than
/// `max_bytes` of a line.
class line_reader {
 public:
  enum class status {
    line,      ///< `text` holds the next line
    too_long,  ///< the line had more than max_bytes bytes; it was read and not kept
    end,       ///< no more lines
    failed,    ///< the stream failed (error() says why); the lines before were read
  };
  /// Gets the bytes of a line too long to keep, as read, in order (the first
  /// call starts with the line's first byte, a byte order mark included).
  using spill_fn = std::function<void(std::string_view)>;

  explicit line_reader(std::istream& in, std::size_t max_bytes = max_line_bytes);

  /// Reads the next line into `text`, without its '\n' (a '\r' before it is
  /// kept) and, on the first line, without a leading byte order mark. On
  /// too_long, `spill` (if set) sees the whole line and `text` is empty.
  status next(std::string& text, const spill_fn& spill = nullptr);
  /// The number of the line just read, from 1.
  std::size_t number() const noexcept { return number_; }
  /// True if the first line started with a byte order mark (removed).
  bool had_bom() const noexcept { return had_bom_; }
  /// Why the stream failed ("read error", or the system's reason for stdin).
  const std::string& error() const noexcept { return error_; }

 private:
  std::istream& in_;
  std::size_t max_;
  std::vector<char> chunk_;
  std::size_t number_ = 0;
  bool had_bom_ = false;
  bool done_ = false;
  std::string error_;
};

/// Gives one log line: (text, file name or "<stdin>", line number from 1).
using line_fn = std::function<void(const std::string&, const std::string&, std::size_t)>;

/// Calls `line` for every line of `files`, or of `in` if there is none, each
/// without a trailing '\r' or a leading byte order mark. A line longer than
/// max_line_bytes is not given: `too_long` is called with (file, number), or,
/// if it is not set, "<command>: <file>:<number>: line longer than ... bytes
/// (skipped)" goes to `err`. Returns 0, or 2 after a message "<command>:
/// cannot read <file>: <why>" on `err` for a file that cannot be opened or
/// read (the lines before the failure have been given).
int read_logs(const std::vector<std::string>& files, std::istream& in, const char* command,
              std::ostream& err, const line_fn& line,
              const std::function<void(const std::string&, std::size_t)>& too_long = nullptr);

}  // namespace fitwatch::cli
