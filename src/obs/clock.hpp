#pragma once
// The wall clock as the protocol counts it: milliseconds since the Unix epoch. Components
// that read the clock take it from here (room logic never does: time is its argument).
#include <chrono>
#include <cstdint>

namespace tandem::obs {

inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tandem::obs
