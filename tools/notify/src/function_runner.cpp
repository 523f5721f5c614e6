#include "notify/function_runner.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

extern char** environ;

namespace fitwatch::notify {
namespace {

// The fake AWS around the function: boto3.client("logs") answers
// FilterLogEvents from the log's lines as CloudWatch Logs would hold them
// (SageMaker's stream <job>/algo-1-..., only lines visible by now, the time
// window, a { $.Field = "value" } filter pattern), boto3.client("sns")
// records Publish. Parameters are checked against what the real API
// accepts (names and types); an unknown one is an error, as botocore's
// validation would raise. The function's own prints go to stderr.
const char* const harness = R"PY(
import json, os, re, signal, sys, traceback, types
signal.alarm(60)
inp = json.load(open(sys.argv[1], encoding="utf-8"))
calls, publishes, out = [], [], sys.stdout
sys.stdout = sys.stderr

def check(op, kw, allowed, required):
    bad = [k for k in kw if k not in allowed]
    missing = [k for k in required if k not in kw]
    if bad or missing:
        raise TypeError("%s: unknown parameters %s, missing %s" % (op, bad, missing))

class Logs:
    def filter_log_events(self, **kw):
        calls.append("logs:FilterLogEvents")
        check("FilterLogEvents", kw, {"logGroupName", "logGroupIdentifier", "logStreamNames", "logStreamNamePrefix",
              "startTime", "endTime", "filterPattern", "nextToken", "limit", "interleaved", "unmask"}, [])
        pattern = kw.get("filterPattern") or ""
        m = re.fullmatch(r'\{ *\$\.(\w+) *= *"([^"]*)" *\}', pattern)
        if pattern and not m:
            raise ValueError("replay's FilterLogEvents reads { $.Field = \"value\" } patterns only, not %r" % pattern)
        found = []
        if kw.get("logGroupName") == "/aws/sagemaker/TrainingJobs":
            for e in inp["events"]:
                if e["visible"] > inp["now_ms"] or not kw.get("startTime", 0) <= e["timestamp"] <= kw.get("endTime", 2 ** 62):
                    continue
                try:
                    line = json.loads(e["message"])
                except ValueError:
                    continue
                if not isinstance(line, dict):
                    continue
                stream = str(line.get("TrainingJobName", "")) + "/algo-1-" + str(inp["first_ms"] // 1000)
                if not stream.startswith(kw.get("logStreamNamePrefix", "")):
                    continue
                if m and str(line.get(m.group(1))) != m.group(2):
                    continue
                found.append({"logStreamName": stream, "timestamp": e["timestamp"], "message": e["message"],
                              "ingestionTime": e["visible"], "eventId": str(len(found))})
        return {"events": found, "searchedLogStreams": []}

class Sns:
    def publish(self, **kw):
        calls.append("sns:Publish")
        check("Publish", kw, {"TopicArn", "TargetArn", "PhoneNumber", "Message", "Subject", "MessageStructure",
              "MessageAttributes", "MessageDeduplicationId", "MessageGroupId"}, ["Message"])
        publishes.append({"topic": kw.get("TopicArn", ""), "subject": kw.get("Subject", ""), "message": kw["Message"]})
        return {"MessageId": "00000000-0000-0000-0000-%012d" % len(publishes)}

boto3 = types.ModuleType("boto3")
boto3.client = lambda name, **kw: {"logs": Logs, "sns": Sns}[name]()
sys.modules["boto3"] = boto3
os.environ.update(inp["env"])
os.environ["AWS_REGION"] = inp["region"]
result = {"publishes": publishes, "calls": calls}
try:
    module = types.ModuleType(inp["handler"].rsplit(".", 1)[0])
    exec(compile(inp["code"], "index.py", "exec"), module.__dict__)
    getattr(module, inp["handler"].rsplit(".", 1)[-1])(inp["event"], None)
except BaseException:
    result["error"] = traceback.format_exc(limit=3).strip().splitlines()[-1]
out.write(json.dumps(result))
)PY";

struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text) {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/fitwatch-fn-XXXXXX";
    const int fd = mkstemp(pattern.data());
    if (fd < 0) return;
    path = pattern;
    std::size_t done = 0;
    while (done < text.size()) {
      const auto n = ::write(fd, text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (done != text.size()) {
      std::remove(path.c_str());
      path.clear();
    }
  }
  ~temp_file() {
    if (!path.empty()) std::remove(path.c_str());
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
};

}  // namespace

void log_window::add(const std::string& line, std::int64_t timestamp_ms, std::int64_t visible_ms) {
  entries_.push_back({line, timestamp_ms, visible_ms});
  if (entries_.size() > capacity_) entries_.pop_front();
}

function_result run_function(const alarms::lambda_function& fn, const std::string& topic_arn,
                             const std::string& message, std::int64_t now_ms,
                             const std::string& region, const log_window& lines) {
  using nlohmann::json;
  function_result r;
  if (fn.code.empty()) {
    r.error = "function " + fn.logical_id + " has no inline code (Code.ZipFile)";
    return r;
  }
  json events = json::array();
  std::int64_t first = lines.entries().empty() ? 0 : lines.entries().front().timestamp_ms;
  for (const auto& e : lines.entries())
    events.push_back(
        {{"timestamp", e.timestamp_ms}, {"visible", e.visible_ms}, {"message", e.line}});
  json env = json::object();
  for (const auto& [k, v] : fn.environment) env[k] = v;
  const json record = {{"EventSource", "aws:sns"},
                       {"Sns",
                        {{"Type", "Notification"},
                         {"TopicArn", topic_arn},
                         {"Subject", nullptr},
                         {"Message", message}}}};
  const json input = {
      {"code", fn.code},  {"handler", fn.handler.empty() ? "index.handler" : fn.handler},
      {"env", env},       {"region", region},
      {"now_ms", now_ms}, {"first_ms", first},
      {"events", events}, {"event", {{"Records", json::array({record})}}}};
  const temp_file script(harness), data(input.dump(-1, ' ', false, json::error_handler_t::replace));
  if (script.path.empty() || data.path.empty()) {
    r.error = std::string("cannot write a temporary file: ") + std::strerror(errno);
    return r;
  }
  const char* py = std::getenv("FITWATCH_PYTHON");
  std::string python = py && *py ? py : "python3";
  int out[2];
  if (pipe(out) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, out[1]);
  std::vector<std::string> args = {python, "-I", script.path, data.path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  if (rc == 0) {
    char buf[65536];
    for (;;) {
      const auto n = ::read(out[0], buf, sizeof buf);
      if (n > 0) {
        text.append(buf, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;
      }
    }
  }
  ::close(out[0]);
  if (rc != 0) {
    r.error = "cannot run " + python + " (needed to run the function " + fn.logical_id +
              "): " + std::strerror(rc);
    return r;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const json result = json::parse(text, nullptr, false);
  if (!result.is_object()) {
    r.error = "the function " + fn.logical_id + " did not run (" + python + " exit status " +
              std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
    return r;
  }
  for (const auto& p : result.value("publishes", json::array()))
    r.publishes.push_back({p.value("topic", ""), p.value("subject", ""), p.value("message", "")});
  for (const auto& c : result.value("calls", json::array()))
    r.calls.push_back(c.get<std::string>());
  if (result.contains("error"))
    r.error = "the function " + fn.logical_id + " failed: " + result["error"].get<std::string>();
  return r;
}

}  // namespace fitwatch::notify
