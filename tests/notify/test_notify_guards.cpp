// The notify room against hostile values (issue #12 M5, M6): header
// injection, SMTP URLs with credentials or other schemes, unsafe senders.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "notify/email.hpp"
#include "notify/smtp.hpp"

using fitwatch::notify::check_smtp_options;
using fitwatch::notify::email;
using fitwatch::notify::plain_address;
using fitwatch::notify::redact_url;
using fitwatch::notify::smtp_options;

TEST_CASE("to_rfc5322 refuses CR, LF and other control characters in every header") {
  email e{"fitwatch <no-reply@sns.amazonaws.com>", "a@example.com", "ALARM: \"x\" in y", "body\n",
          0};
  CHECK(to_rfc5322(e).find("To: a@example.com\r\n") != std::string::npos);
  for (std::string email::*field : {&email::from, &email::to, &email::subject}) {
    for (const char* bad : {"\r\nBcc: m@evil.example", "\nBcc: m@evil.example", "\t", "\x7f"}) {
      email hostile = e;
      hostile.*field += bad;
      CHECK_THROWS_AS(to_rfc5322(hostile), std::invalid_argument);
    }
  }
}

TEST_CASE("SMTP options: smtp and smtps only, no credentials in the URL, a plain sender") {
  smtp_options o;
  o.url = "smtps://mail.example.com:465";
  CHECK_NOTHROW(check_smtp_options(o));
  o.url = "SMTP://mail.example.com";
  CHECK_NOTHROW(check_smtp_options(o));
  for (const char* url : {"file:///tmp/x", "http://h/", "smtpx://h", "h:25", ""}) {
    o.url = url;
    CHECK_THROWS_WITH_AS(check_smtp_options(o),
                         doctest::Contains("only smtp:// and smtps:// URLs are accepted"),
                         std::invalid_argument);
  }
  o.url = "smtp://user:s3cret@mail.example.com:587";
  try {
    check_smtp_options(o);
    FAIL("a password in the URL was accepted");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("s3cret") == std::string::npos);
    CHECK(what.find("smtp://***@mail.example.com:587") != std::string::npos);
  }
  o.url = "smtp://mail.example.com";
  o.from = "a@example.com>\r\nRCPT TO:<m@evil.example";
  CHECK_THROWS_AS(check_smtp_options(o), std::invalid_argument);
  o.from = "a@example.com";
  o.user = "mailer";
  CHECK_THROWS_WITH_AS(check_smtp_options(o), doctest::Contains("--smtp-user needs a password"),
                       std::invalid_argument);
}

TEST_CASE("redact_url and plain_address") {
  CHECK(redact_url("smtps://u:p@h:465/x") == "smtps://***@h:465/x");
  CHECK(redact_url("smtp://h:25") == "smtp://h:25");
  CHECK(redact_url("smtp://h/p@q") == "smtp://h/p@q");  // an @ after the host is not userinfo
  CHECK(plain_address("a.b+c@example.co.uk"));
  for (const char* bad : {"", "a", "a@", "@b", "a@b@c", "a b@c", "a@b\r\n", "<a@b>", "a,b@c"})
    CHECK_FALSE(plain_address(bad));
}
