#pragma once
// At most one log line per period for an event that an attacker can repeat at will (a
// refused request, a deletion under a quota): the line that passes carries how many were
// held back since the previous one. Not thread-safe: one owner thread.
#include <cstdint>

namespace tandem::obs {

class LogThrottle {
 public:
  explicit LogThrottle(std::int64_t period_ms) : period_ms_(period_ms) {}

  // Counts one occurrence at `now_ms`; true when it may be logged, and then `held_back`
  // is the number of occurrences not logged since the last line.
  bool allow(std::int64_t now_ms, std::uint64_t& held_back) {
    if (logged_ && now_ms - last_ms_ < period_ms_) {
      ++held_back_;
      return false;
    }
    logged_ = true;
    last_ms_ = now_ms;
    held_back = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  std::int64_t period_ms_;
  std::int64_t last_ms_ = 0;
  bool logged_ = false;
  std::uint64_t held_back_ = 0;
};

}  // namespace tandem::obs
