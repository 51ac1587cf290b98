#pragma once
// How the harness fails a test: a GoogleTest failure at the caller's line (the test's, via
// std::source_location), then an exception that ends the test. A failed wait makes every
// later step meaningless (and each would wait out its own deadline), so the harness stops
// the test at the first one instead of letting it stumble on.
#include <chrono>
#include <source_location>
#include <stdexcept>
#include <string>

namespace tandem::test {

using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Default deadline of every wait for something that should happen (a message, a close, a
// log line). Generous: a sanitizer build on a loaded machine is slow, and a deadline is
// only reached when the test is failing anyway.
inline constexpr Millis kTimeout{5000};
// Window of the "nothing arrives" checks (the one wait the protocol makes inherent).
inline constexpr Millis kQuiet{300};

class HarnessAbort : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Records a failure at `where` and throws HarnessAbort.
[[noreturn]] void fail_at(const std::source_location& where, const std::string& message);

}  // namespace tandem::test
