#pragma once
// Counts as the integers JSON logs and SQL parameters take.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace tandem::store {

inline std::int64_t as_int(std::size_t n) {
  return static_cast<std::int64_t>(n);
}

// A row limit for a LIMIT parameter: both stores' drivers bind 64-bit integers, and no
// batch needs more than 2^31 - 1 rows.
inline std::int64_t capped_rows(std::size_t n) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(n, static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())));
}

}  // namespace tandem::store
