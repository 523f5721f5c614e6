// Writes tests/data/number_text.txt: doubles (their bits in hex) and the
// text libstdc++ 12's std::to_chars writes for them, the bytes every build of
// fitwatch must write (tests/test_number_text.cpp). Run once, with GCC 12:
//   g++ -std=c++17 -O2 tests/data/make_number_text.cpp -o /tmp/m && /tmp/m >
//   tests/data/number_text.txt
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

static void row(double v) {
  if (!std::isfinite(v)) return;
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  char buf[64];
  *std::to_chars(buf, buf + sizeof buf, v).ptr = '\0';
  std::printf("%016" PRIx64 " %s\n", b, buf);
}

int main() {
  std::printf("# bits text: std::to_chars(double) of libstdc++ 12 (make_number_text.cpp)\n");
  for (double v : {0.0,
                   1.0,
                   0.1,
                   1e16,
                   1e-7,
                   1e15,
                   1e17,
                   1e21,
                   1e22,
                   1e23,
                   1e-5,
                   1e-4,
                   1e-3,
                   123456.0,
                   5e-324,
                   1e-310,
                   2.2250738585072014e-308,
                   1.7976931348623157e308,
                   9007199254740992.0,
                   9007199254740994.0,
                   1.2345678901234567e20,
                   0.30000000000000004,
                   2.0 / 3}) {
    row(v);
    row(-v);
  }
  for (int e = -324; e <= 308; ++e) {
    const double p = std::strtod(("1e" + std::to_string(e)).c_str(), nullptr);
    row(p);
    row(std::nextafter(p, 0.0));
    row(std::nextafter(p, 1e308));
  }
  for (int e = -1074; e <= 1023; e += 3) {
    const double p = std::ldexp(1.0, e);
    row(p);
    row(-std::nextafter(p, 1e308));
  }
  std::mt19937_64 random(22);
  for (int i = 0; i < 6000; ++i) {
    const std::uint64_t b = random();
    double v;
    std::memcpy(&v, &b, sizeof v);
    row(v);
  }
  std::uniform_int_distribution<int> digits(0, 99999), exponent(-12, 22);
  for (int i = 0; i < 4000; ++i) {
    row(std::stod(std::to_string(digits(random)) + "e" + std::to_string(exponent(random))));
  }
}
