#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tandem::bench {

std::size_t Histogram::index_of(std::int64_t value) noexcept {
  if (value < 2 * kSub) return static_cast<std::size_t>(std::max<std::int64_t>(value, 0));
  const auto v = static_cast<std::uint64_t>(value);
  const int exponent = std::bit_width(v) - 1;  // >= kSubBits + 1
  if (exponent > kMaxExponent) return kBuckets - 1;
  const int shift = exponent - kSubBits;
  const auto sub = static_cast<std::int64_t>(v >> shift) - kSub;  // [0, kSub)
  return static_cast<std::size_t>(2 * kSub + (exponent - kSubBits - 1) * kSub + sub);
}

std::int64_t Histogram::upper_bound_of(std::size_t index) noexcept {
  const auto i = static_cast<std::int64_t>(index);
  if (i < 2 * kSub) return i;
  const std::int64_t group = (i - 2 * kSub) / kSub;  // exponent - kSubBits - 1
  const std::int64_t sub = (i - 2 * kSub) % kSub;
  const int shift = static_cast<int>(group) + 1;
  return ((kSub + sub + 1) << shift) - 1;
}

void Histogram::record(std::int64_t value_ns) noexcept {
  value_ns = std::max<std::int64_t>(value_ns, 0);
  ++counts_[index_of(value_ns)];
  if (count_ == 0 || value_ns < min_) min_ = value_ns;
  max_ = std::max(max_, value_ns);
  ++count_;
  sum_ += static_cast<long double>(value_ns);
}

void Histogram::merge(const Histogram& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  if (count_ == 0 || other.min_ < min_) min_ = other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

double Histogram::mean() const noexcept {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

std::int64_t Histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (q >= 1.0) return max_;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  const std::uint64_t target = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= target) return std::min(upper_bound_of(i), max_);
  }
  return max_;
}

}  // namespace tandem::bench
