#pragma once
// The filter of an NTP-style clock exchange: of the last N samples, the one with the lowest
// round trip (queueing and jitter only ever add delay). The server keeps one per connection
// for the round trip (ClockExchange). A clock offset is better taken from each direction's
// lowest delay on its own, as the demo client does (web/demo/sync.js, docs/SYNC.md). Pure.
#include <cstddef>
#include <deque>
#include <optional>

namespace tandem::room {

struct ClockSample {
  double rtt_ms = 0;     // round trip, >= 0
  double offset_ms = 0;  // remote clock - local clock (0 where only the round trip matters)
};

class ClockFilter {
 public:
  static constexpr std::size_t kDefaultWindow = 8;
  // A round trip longer than this is no network delay but a client that waited: ignored.
  static constexpr double kMaxRttMs = 30'000;

  explicit ClockFilter(std::size_t window = kDefaultWindow) : window_(window == 0 ? 1 : window) {}

  // False (and nothing kept) for a sample that cannot be a round trip: negative, not
  // finite, or longer than kMaxRttMs.
  bool add(ClockSample sample);
  // The sample with the lowest round trip among the last `window` (the earliest on a tie),
  // or nullopt before the first.
  std::optional<ClockSample> best() const;
  std::size_t size() const noexcept { return samples_.size(); }
  void clear() noexcept { samples_.clear(); }

  // Whether a new estimate differs enough from the one last reported to be worth reporting:
  // by at least 5 ms and 10 %. Smaller moves are the window's own jitter.
  static bool moved(double reported_ms, double estimate_ms) noexcept;

 private:
  std::size_t window_;
  std::deque<ClockSample> samples_;
};

}  // namespace tandem::room
