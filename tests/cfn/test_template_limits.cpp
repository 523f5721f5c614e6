// The template reader against hostile templates and parameters (issue #12,
// M2, M3 and the parameter constraints): every one is a template_error with
// a clear message, never a stack overflow (rc 139), a hang or gigabytes.
// These run under the ctest label "fault", each with a timeout.
#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "cfn/decimal.hpp"
#include "cfn/template.hpp"

namespace {

using fitwatch::alarms::template_model;
using fitwatch::cfn::evaluate_template;
using fitwatch::cfn::parse_template;
using fitwatch::cfn::template_error;
using fitwatch::cfn::template_options;

template_model evaluate(const std::string& text, const template_options& o = {}) {
  return evaluate_template(parse_template(text), o);
}

// The message of the template_error `text` raises (empty if none).
std::string error_of(const std::string& text, const template_options& o = {}) {
  try {
    evaluate(text, o);
  } catch (const template_error& e) {
    return e.what();
  }
  return "";
}

std::string alarm(const std::string& id, const std::string& extra) {
  return "  " + id +
         ":\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      MetricName: M\n"
         "      Namespace: N\n      Period: 60\n      Threshold: 1\n"
         "      ComparisonOperator: GreaterThanThreshold\n" +
         extra;
}

}  // namespace

TEST_CASE("template cycles: conditions that refer to each other are an error naming the loop") {
  const std::string t =
      "Conditions:\n  A: !Condition B\n  B: !Not [!Condition C]\n  C: !Condition A\n"
      "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Condition: A\n";
  CHECK(error_of(t) ==
        "template: circular reference: condition A -> condition B -> condition C -> condition A");
  CHECK(error_of("Conditions:\n  A: !Condition A\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
                 "    Condition: A\n") ==
        "template: circular reference: condition A -> condition A");
}

TEST_CASE("template cycles: alarm names that Ref each other, and a resource that GetAtts itself") {
  const std::string refs = "Resources:\n" + alarm("A", "      AlarmName: !Ref B\n") +
                           alarm("B", "      AlarmName: !Sub '${A}-b'\n");
  // (A's AlarmName needs B's name, which needs A's.)
  CHECK(error_of(refs) == "template: circular reference: resource B -> resource A -> resource B");
  const std::string self = "Resources:\n" + alarm("A", "      AlarmName: !GetAtt A.Arn\n");
  CHECK(error_of(self) == "template: circular reference: resource A -> resource A");
  const std::string topic =
      "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n"
      "      TopicName: !GetAtt T.TopicName\n";
  CHECK(error_of(topic) == "template: circular reference: resource T -> resource T");
  // Not a cycle: B names itself after A, A after a parameter.
  const std::string chain = "Parameters:\n  P: {Type: String, Default: p}\nResources:\n" +
                            alarm("A", "      AlarmName: !Sub '${P}-a'\n") +
                            alarm("B", "      AlarmName: !Sub '${A}-b'\n");
  const auto m = evaluate(chain);
  REQUIRE(m.alarms.size() == 2);
  CHECK(m.alarms[1].name == "p-a-b");
}

TEST_CASE("template limits: a long chain of conditions is an error, not a stack overflow") {
  std::string t = "Conditions:\n";
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    t += "  C" + std::to_string(i) + ": !Condition C" + std::to_string(i + 1) + "\n";
  t += "  C" + std::to_string(n) + ": !Equals [a, a]\n";
  t += "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Condition: C0\n";
  const auto start = std::chrono::steady_clock::now();
  const auto e = error_of(t);
  CHECK(e.find("references and functions nested more than 200 deep") != std::string::npos);
  // (A copy of the Conditions section per level took 14 s and 1.2 GB.)
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("template limits: JSON nested 100k deep is refused before anything recurses over it") {
  const std::size_t n = 100000;
  const std::string deep =
      "{\"Resources\":{\"A\":{\"Type\":\"AWS::CloudWatch::Alarm\","
      "\"Properties\":{\"AlarmName\":" +
      std::string(n, '[') + std::string(n, ']') + "}}}}";
  CHECK_THROWS_WITH_AS(parse_template(deep), "template: nested more than 100 levels deep",
                       template_error);
  // evaluate_template checks a document it did not parse, too.
  nlohmann::json j = nlohmann::json::array();
  for (int i = 0; i < 200; ++i) j = nlohmann::json::array({j});
  CHECK_THROWS_WITH_AS(evaluate_template({{"Resources", {{"A", j}}}}, {}),
                       "template: nested more than 100 levels deep", template_error);
  // 90 levels are fine.
  const std::string ok =
      "{\"Resources\":{},\"Metadata\":" + std::string(90, '[') + std::string(90, ']') + "}";
  CHECK_NOTHROW(parse_template(ok));
}

TEST_CASE("template limits: deep YAML flow collections are refused") {
  for (const std::size_t n : {150, 1900, 100000}) {
    const std::string deep = "Resources:\n  A:\n    Properties:\n      X: " + std::string(n, '[') +
                             std::string(n, ']') + "\n";
    CHECK_THROWS_AS(parse_template(deep), template_error);
  }
}

TEST_CASE("template limits: a YAML alias bomb under 1 KB is refused at once") {
  // 8 levels of 9 aliases: 9^8 = 43 million nodes when expanded.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 8; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  bomb += "Resources: {}\n";
  REQUIRE(bomb.size() < 1024);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(parse_template(bomb), doctest::Contains("YAML aliases expand to more than"),
                       template_error);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  // An anchor that contains its own alias is infinitely deep.
  CHECK_THROWS_AS(parse_template("a: &a [*a]\nResources: {}\n"), template_error);
  // A modest alias still works (fitwatch expands what it can).
  const auto j = parse_template("x: &x {k: v}\ny: *x\nResources: {}\n");
  CHECK(j["y"] == nlohmann::json{{"k", "v"}});
}

TEST_CASE(
    "template limits: a 100 KB TeamEmails entry is refused by CloudFormation's 4096-byte limit") {
  const std::string t =
      "Parameters:\n  TeamEmails:\n    Type: CommaDelimitedList\n"
      "    AllowedPattern: \"^[^@\\\\s,]+@[^@\\\\s,]+\\\\.[^@\\\\s,]+$\"\n"
      "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";
  template_options o;
  o.parameters["TeamEmails"] = std::string(100000, 'a') + "@example.com";
  CHECK(error_of(t, o) ==
        "parameter TeamEmails: the value is 100012 bytes; CloudFormation allows at most 4096");
  // At the limit, the pattern is still checked (std::regex recurses per
  // character: 4,096 must not overflow the stack).
  o.parameters["TeamEmails"] = std::string(4096 - 12, 'a') + "@example.com";
  CHECK(error_of(t, o).empty());
  // A long scalar in the template itself is read without a regex (one
  // recursion per character overflowed the stack); too large for a double,
  // it stays a string.
  CHECK(parse_template("Resources: {}\nx: " + std::string(900000, '7') + "\n")["x"] ==
        std::string(900000, '7'));
}

TEST_CASE("template parameters: Number, MinValue/MaxValue, MinLength/MaxLength, list trimming") {
  const std::string t =
      "Parameters:\n"
      "  N: {Type: Number, Default: 1, MinValue: 0, MaxValue: 10}\n"
      "  L: {Type: 'List<Number>', Default: '1,2', MaxValue: 5}\n"
      "  S: {Type: String, Default: abc, MinLength: 2, MaxLength: '4'}\n"
      "  E: {Type: CommaDelimitedList, Default: 'a@x.co', AllowedValues: [a@x.co, b@x.co]}\n"
      "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";
  CHECK(error_of(t).empty());
  const auto with = [&](const char* name, const char* value) {
    template_options o;
    o.parameters[name] = value;
    return error_of(t, o);
  };
  CHECK(with("N", "0x10") == "parameter N: '0x10' is not a Number");
  CHECK(with("N", "inf") == "parameter N: 'inf' is not a Number");
  CHECK(with("N", "nan") == "parameter N: 'nan' is not a Number");
  CHECK(with("N", "1e999") == "parameter N: '1e999' is not a Number");
  CHECK(with("N", "") == "parameter N: '' is not a Number");
  CHECK(with("N", "-1") == "parameter N: -1 is below MinValue 0");
  CHECK(with("N", "10.5") == "parameter N: 10.5 is above MaxValue 10");
  CHECK(with("N", "2.5e0").empty());
  CHECK(with("L", "1,9") == "parameter L: 9 is above MaxValue 5");
  CHECK(with("L", "1,x") == "parameter L: 'x' is not a Number");
  CHECK(with("S", "a") == "parameter S: 1 characters, fewer than MinLength 2");
  CHECK(with("S", "abcde") == "parameter S: 5 characters, more than MaxLength 4");
  CHECK(with("S", "\xc3\xa9\xc3\xa9\xc3\xa9").empty());  // 3 characters, 6 bytes
  // "each member string is space trimmed"
  CHECK(with("E", " a@x.co , b@x.co").empty());
}

TEST_CASE("alarm limits: PutMetricAlarm's EvaluationPeriods x Period and DatapointsToAlarm") {
  const auto one = [](const std::string& extra) { return "Resources:\n" + alarm("A", extra); };
  // 1e8 periods used to make replay run for hours.
  CHECK(error_of(one("      EvaluationPeriods: 1e8\n")) ==
        "resource A: Period x EvaluationPeriods = 60 x 100000000 = 6000000000 s; CloudWatch "
        "allows at most 86400 s for periods under an hour");
  CHECK(error_of(one("      EvaluationPeriods: 1440\n")).empty());  // exactly one day
  CHECK(error_of(one("      EvaluationPeriods: 1441\n")).find("at most 86400 s") !=
        std::string::npos);
  CHECK(error_of("Resources:\n  A:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n"
                 "      MetricName: M\n      Namespace: N\n      Period: 3600\n"
                 "      EvaluationPeriods: 169\n      ComparisonOperator: GreaterThanThreshold\n")
            .find("= 608400 s; CloudWatch allows at most 604800 s") != std::string::npos);
  CHECK(error_of(one("      EvaluationPeriods: 2\n      DatapointsToAlarm: 3\n")) ==
        "resource A: DatapointsToAlarm 3 is more than EvaluationPeriods 2");
  CHECK(error_of(one("      EvaluationPeriods: 0\n")) ==
        "resource A: EvaluationPeriods must be a whole number of at least 1, not 0");
  CHECK(error_of(one("      EvaluationPeriods: 2.5\n")).find("whole number") != std::string::npos);
  CHECK(error_of(one("      EvaluationPeriods: '0x10'\n")) ==
        "resource A: EvaluationPeriods is not a number: \"0x10\"");
}

TEST_CASE("alarm limits: an AlarmDescription over 1024 characters is refused, as CloudWatch does") {
  // A metric alarm B, and a composite A on it; `type` says which is described.
  const auto described = [](const std::string& text, const std::string& type) {
    const std::string d = "      AlarmDescription: \"" + text + "\"\n";
    return "Resources:\n" + alarm("B", "      AlarmName: B\n" + (type == "metric" ? d : "")) +
           "  A:\n    Type: AWS::CloudWatch::CompositeAlarm\n    Properties:\n"
           "      AlarmRule: 'ALARM(\"B\")'\n" +
           (type == "composite" ? d : "");
  };
  for (const char* type : {"metric", "composite"}) {
    INFO(type);
    CHECK(error_of(described(std::string(1024, 'd'), type)).empty());
    CHECK(error_of(described(std::string(1025, 'd'), type)) ==
          "resource " + std::string(type[0] == 'm' ? "B" : "A") +
              ": AlarmDescription is 1025 characters; CloudWatch allows at most 1024");
    // Characters, not bytes: 1024 two-byte characters fit.
    std::string accented;
    for (int i = 0; i < 1024; ++i) accented += "\xc3\xa9";
    CHECK(error_of(described(accented, type)).empty());
    // Line breaks count as characters too ("\n" in a YAML double-quoted scalar).
    CHECK(error_of(described(std::string(1020, 'd') + "\\n\\n\\n\\n\\n", type))
              .find("1025 characters") != std::string::npos);
  }
}

TEST_CASE("decimal: one parser for Number parameters and durations") {
  using fitwatch::cfn::decimal_value;
  using fitwatch::cfn::leading_decimal;
  CHECK(decimal_value("1.5e3") == 1500);
  CHECK(decimal_value(".5") == 0.5);
  CHECK(decimal_value("-2.") == -2);
  for (const char* bad : {"", "+", ".", "1e", "1e+", "0x10", "inf", "nan", "1e999", " 1", "1 "}) {
    INFO(bad);
    CHECK_FALSE(decimal_value(bad));
  }
  // A number followed by a unit: "5e" is 5 then "e" (no exponent digits).
  CHECK(leading_decimal("90s") == std::make_pair(90.0, std::size_t{2}));
  CHECK(leading_decimal("5e") == std::make_pair(5.0, std::size_t{1}));
  CHECK(leading_decimal("1.5e2m") == std::make_pair(150.0, std::size_t{5}));
  CHECK_FALSE(leading_decimal("m5"));
  CHECK_FALSE(leading_decimal("1e300000h"));
}
