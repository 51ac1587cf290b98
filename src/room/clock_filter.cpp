#include "room/clock_filter.hpp"

#include <algorithm>
#include <cmath>

namespace tandem::room {

bool ClockFilter::add(ClockSample sample) {
  if (!std::isfinite(sample.rtt_ms) || !std::isfinite(sample.offset_ms) || sample.rtt_ms < 0 ||
      sample.rtt_ms > kMaxRttMs) {
    return false;
  }
  samples_.push_back(sample);
  if (samples_.size() > window_) samples_.pop_front();
  return true;
}

std::optional<ClockSample> ClockFilter::best() const {
  if (samples_.empty()) return std::nullopt;
  // min_element keeps the first of equal round trips: the estimate does not flip between
  // equally good samples.
  return *std::min_element(samples_.begin(), samples_.end(),
                           [](const ClockSample& a, const ClockSample& b) {
                             return a.rtt_ms < b.rtt_ms;
                           });
}

bool ClockFilter::moved(double reported_ms, double estimate_ms) noexcept {
  const double change = std::fabs(estimate_ms - reported_ms);
  return change >= 5.0 && change >= 0.1 * std::max(reported_ms, estimate_ms);
}

}  // namespace tandem::room
