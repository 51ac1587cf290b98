#pragma once
// A token bucket: `rate` tokens per second, at most `burst` saved up. Counts messages (the
// per-connection rate limit: one token each) or bytes (the pass-through byte budget: one
// token per byte).
#include <algorithm>
#include <chrono>

namespace tandem::net {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  // Takes `cost` tokens if there are that many; otherwise takes none.
  bool take(Clock::time_point now, double cost = 1.0) noexcept {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace tandem::net
