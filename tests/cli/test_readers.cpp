// How every command reads its input (issue 25: H3, M1, L5, L6, L9): a
// leading UTF-8 byte order mark is removed, a line longer than 1 MB is
// reported by its number and never held in memory, and a read error is not
// the end of the input.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "logs.hpp"
#include "run_command.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using fitwatch::cli::line_reader;
using fitwatch::test::lines_of;
using fitwatch::test::parse_emf;
using fitwatch::test::run_command;

namespace {

const std::string cli = FITWATCH_CLI;
const std::string bom = "\xEF\xBB\xBF";

std::string emf_line(int epoch) {
  return R"({"_aws":{"Timestamp":)" + std::to_string(1750000000000 + 30000 * epoch) +
         R"(,"CloudWatchMetrics":[{"Namespace":"FitWatch","Dimensions":[["TrainingJobName"]],)"
         R"("Metrics":[{"Name":"OverfittingDetected","Unit":"None"}]}]},"TrainingJobName":"j",)"
         R"("OverfittingDetected":0,"Epoch":)" +
         std::to_string(epoch) + "}";
}

// Runs `command` with stdin redirected from `from` (a path; "/" is a
// directory, whose read(2) fails with EISDIR).
fitwatch::test::command_result run_with_stdin_from(const std::string& command,
                                                   const std::string& from) {
  const fitwatch::test::temp_dir dir;
  const std::string base = dir.file("cmd");
  const std::string full = command + " < " + from + " > " + base + ".out 2> " + base + ".err";
  const int status = std::system(full.c_str());
  fitwatch::test::command_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = fitwatch::test::slurp(base + ".out");
  r.err = fitwatch::test::slurp(base + ".err");
  return r;
}

struct read_lines {
  std::vector<std::string> lines;
  std::vector<std::size_t> too_long;  // line numbers
  std::string spilled;
  line_reader::status last{};
};

read_lines read_all(const std::string& text, std::size_t max = 16) {
  std::istringstream in(text);
  line_reader reader(in, max);
  read_lines r;
  std::string line;
  for (;;) {
    r.last = reader.next(line, [&](std::string_view b) { r.spilled.append(b); });
    if (r.last == line_reader::status::line) r.lines.push_back(line);
    if (r.last == line_reader::status::too_long) r.too_long.push_back(reader.number());
    if (r.last == line_reader::status::end || r.last == line_reader::status::failed) return r;
  }
}

}  // namespace

TEST_CASE("line_reader: lines, a last line without a newline, CRLF kept, a BOM only at the start") {
  const auto r = read_all(bom + "a\r\n\nb," + bom + "\n" + bom + "c\nlast");
  CHECK(r.last == line_reader::status::end);
  CHECK(r.lines == std::vector<std::string>{"a\r", "", "b," + bom, bom + "c", "last"});
  CHECK(read_all("").lines.empty());
  CHECK(read_all("\n").lines == std::vector<std::string>{""});
  CHECK(read_all(bom).lines == std::vector<std::string>{""});
}

TEST_CASE("line_reader: a line over the bound is reported by number, spilled whole, never kept") {
  const std::string long_line = bom + std::string(17, 'x');  // 17 bytes after the BOM > 16
  const auto r =
      read_all(long_line + "\nok\n" + std::string(40, 'y') + "\n" + std::string(16, 'z'));
  CHECK(r.lines == std::vector<std::string>{"ok", std::string(16, 'z')});
  CHECK(r.too_long == std::vector<std::size_t>{1, 3});
  CHECK(r.spilled == long_line + std::string(40, 'y'));  // as read, the BOM included
}

TEST_CASE("line_reader: lines around the size of its read chunk (64 KiB) come out whole") {
  for (const std::size_t n : {65534, 65535, 65536, 65537, 200000}) {
    INFO(n);
    const std::string a(n, 'a');
    const auto r = read_all(a + "\n" + a + "\nend\n", 1 << 20);
    REQUIRE(r.lines.size() == 3);
    CHECK(r.lines[0] == a);
    CHECK(r.lines[1] == a);
    CHECK(r.lines[2] == "end");
  }
}

TEST_CASE("emit: a byte order mark before a CSV header or a JSON line is no data (H3)") {
  // Excel and PowerShell write a BOM. It hid the header, and the columns
  // were read as epoch,train_loss,val_loss: the losses swapped, exit 0.
  const auto csv = run_command(cli + " emit --passthrough --job-name j",
                               bom + "epoch,val_loss,train_loss\n1,0.9,0.5\n");
  CHECK(csv.exit_code == 0);
  const auto lines = lines_of(csv.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == bom + "epoch,val_loss,train_loss\n");  // passed through as it came (L5)
  const auto e = parse_emf(lines[1]);
  CHECK(e["TrainLoss"] == 0.5);
  CHECK(e["ValidationLoss"] == 0.9);
  // A BOM before the first JSON evaluation: evaluated, not passed through as text.
  const auto json = run_command(cli + " emit --passthrough --job-name j",
                                bom + "{\"epoch\": 1, \"train_loss\": 0.5, \"val_loss\": 0.6}\n");
  CHECK(json.exit_code == 0);
  REQUIRE(lines_of(json.out).size() == 1);
  CHECK(parse_emf(lines_of(json.out)[0])["Epoch"] == 1);
  // Without --passthrough too.
  const auto strict =
      run_command(cli + " emit --job-name j", bom + "epoch,val_loss,train_loss\n1,0.9,0.5\n");
  CHECK(strict.exit_code == 0);
  REQUIRE(lines_of(strict.out).size() == 1);
  CHECK(parse_emf(lines_of(strict.out)[0])["TrainLoss"] == 0.5);
}

TEST_CASE("emit --passthrough passes a CSV header through (L5)") {
  const auto r = run_command(cli + " emit --passthrough --job-name j",
                             "epoch,train_loss,val_loss\n1,0.5,0.6\n");
  CHECK(r.exit_code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "epoch,train_loss,val_loss\n");
  CHECK(parse_emf(lines[1])["ValidationLoss"] == 0.6);
}

TEST_CASE("emit --help prints on stdout (L6)") {
  const auto r = run_command(cli + " emit --help");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("usage: fitwatch emit") == 0);
  CHECK(r.err.empty());
}

TEST_CASE("validate and replay: a byte order mark on the first line of a log is removed (L9)") {
  const std::string log = bom + emf_line(1) + "\n" + emf_line(2) + "\n";
  const auto v = run_command(cli + " validate", log);
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("2 lines, 2 EMF events") != std::string::npos);
  const fitwatch::test::temp_dir dir;
  const std::string file = dir.file("bom.log");
  std::ofstream(file, std::ios::binary) << log << bom << emf_line(3) << "\n";  // not at the start
  const auto f = run_command(cli + " validate " + file + " " + file);
  CHECK(f.exit_code == 0);  // a BOM in the middle of a log is plain text, as CloudWatch reads it
  CHECK(f.out.find("6 lines, 4 EMF events") != std::string::npos);
}

TEST_CASE("every reader: a line over 1 MB is reported by its number, the rest is read (M1)") {
  const std::string huge(2 * 1024 * 1024, 'x');
  const std::string in = "1,0.5,0.6\n" + huge + "\n2,0.4,0.7\n";
  SUBCASE("emit") {
    const auto r = run_command(cli + " emit --job-name j", in);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("fitwatch emit: line 2: longer than 1048576 bytes (skipped)") !=
          std::string::npos);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    CHECK(parse_emf(lines[1])["Epoch"] == 2);
  }
  SUBCASE("emit --passthrough: the line passes through unchanged") {
    const auto r = run_command(cli + " emit --passthrough --job-name j", in);
    CHECK(r.exit_code == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[1] == huge + "\n");
    CHECK(parse_emf(lines[2])["Epoch"] == 2);
  }
  const std::string log = emf_line(1) + "\n" + huge + "\n" + emf_line(2) + "\n";
  SUBCASE("watch: passed through, not evaluated, the lines after it evaluated") {
    const auto r = run_command(cli + " watch --template " FITWATCH_SOURCE_DIR
                                     "/templates/overfitting-alerts.yaml --param TrainingJobName=j "
                                     "--param TeamEmails=a@example.com",
                               log);
    CHECK(r.exit_code == 0);
    CHECK(r.out == log);
    CHECK(r.err.find("<stdin>:2: line longer than 1048576 bytes, passed through, not evaluated") !=
          std::string::npos);
  }
  SUBCASE("validate") {
    const auto r = run_command(cli + " validate", log);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("<stdin>:2: line longer than 1048576 bytes") != std::string::npos);
    CHECK(r.out.find("3 lines, 2 EMF events") != std::string::npos);
  }
}

TEST_CASE("every reader: a read error of stdin is an error, not the end of the input (M1)") {
  // A directory as stdin: read(2) fails with EISDIR.
  const std::string tmpl = " --template " FITWATCH_SOURCE_DIR
                           "/templates/overfitting-alerts.yaml --param TrainingJobName=j --param "
                           "TeamEmails=a@example.com";
  for (const std::string& command : {std::string("emit"), std::string("validate"),
                                     std::string("watch") + tmpl, std::string("replay") + tmpl}) {
    INFO(command);
    const auto r = run_with_stdin_from(cli + " " + command, "/");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("cannot read") != std::string::npos);
  }
}
