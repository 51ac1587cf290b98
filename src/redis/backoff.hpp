#pragma once
// Jittered exponential backoff for reconnects: the base delay starts at `initial` and
// doubles per failed attempt up to `max`; each delay is drawn uniformly from
// [base / 2, base] so that many nodes losing the same Redis do not retry in lockstep.
#include <chrono>
#include <cstdint>
#include <random>

namespace tandem::redis {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint64_t seed);

  std::chrono::milliseconds next();  // the delay before the next attempt
  void reset() noexcept { base_ = initial_; }
  std::chrono::milliseconds base() const noexcept { return base_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds base_;
  std::mt19937_64 rng_;
};

}  // namespace tandem::redis
