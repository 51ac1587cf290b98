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

// The same with sub-millisecond resolution (clock sync replies, docs/SYNC.md).
inline double wall_clock_ms_precise() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A monotonic clock in ms (any origin): intervals that a wall-clock step must not bend.
inline double steady_clock_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace tandem::obs
