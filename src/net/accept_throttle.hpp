#pragma once
// What the listener does when accept() fails (EMFILE, ENFILE, ENOBUFS, ...): wait before
// trying again, and log at most one line per interval. Pure: time is an argument.
//
// Without a pause, a failing accept is retried at once and fails at once (the pending
// connection stays in the backlog, so the listener stays readable): a busy loop that logs
// a line per failure. The pause starts at `initial` and doubles per consecutive failure up
// to `max`, so descriptors freed by closing connections are used within `max`; a success
// resets it. The first failure is logged at once; later ones at most once per
// `log_interval`, with the number of failures since the previous line.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace tandem::net {

class AcceptThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  struct Step {
    Duration delay;                    // wait this long before the next accept
    std::optional<std::uint64_t> log;  // log a line now, reporting this many failures
  };

  AcceptThrottle(Duration initial = Duration(10), Duration max = Duration(500),
                 Duration log_interval = std::chrono::seconds(10))
      : initial_(initial), max_(max), log_interval_(log_interval), delay_(initial) {}

  Step on_failure(Clock::time_point now) {
    Step step{delay_, std::nullopt};
    delay_ = std::min(delay_ * 2, max_);
    ++unlogged_;
    if (!last_log_ || now - *last_log_ >= log_interval_) {
      last_log_ = now;
      step.log = unlogged_;
      unlogged_ = 0;
    }
    return step;
  }

  // The failures not reported yet stay counted for the next line.
  void on_success() noexcept { delay_ = initial_; }

 private:
  Duration initial_;
  Duration max_;
  Duration log_interval_;
  Duration delay_;
  std::optional<Clock::time_point> last_log_;
  std::uint64_t unlogged_ = 0;
};

}  // namespace tandem::net
