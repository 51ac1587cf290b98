#include "redis/backoff.hpp"

#include <algorithm>

namespace tandem::redis {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                 std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      base_(initial_),
      rng_(seed) {}

std::chrono::milliseconds Backoff::next() {
  const auto base = base_;
  base_ = std::min(base_ * 2, max_);
  std::uniform_int_distribution<std::int64_t> jitter(base.count() / 2, base.count());
  return std::chrono::milliseconds(jitter(rng_));
}

}  // namespace tandem::redis
