#pragma once
// The generator's one clock: steady (monotonic) nanoseconds since the process started.
// Send times travel inside messages as kStampBase + now_ns(): a 16-digit integer below 2^53,
// so a JSON number survives the server's double round trip exactly.
#include <chrono>
#include <cstdint>

namespace tandem::bench {

inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t now_ns() noexcept {
  static const std::int64_t origin = steady_ns();
  return steady_ns() - origin;
}

inline constexpr std::int64_t kStampBase = 1'000'000'000'000'000;  // 10^15, 16 digits
inline constexpr std::int64_t kStampMax = 8'000'000'000'000'000;   // < 2^53 (~81 days)
inline constexpr std::int64_t kNsPerSec = 1'000'000'000;

}  // namespace tandem::bench
