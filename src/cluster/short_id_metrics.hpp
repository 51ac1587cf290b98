#pragma once
// What short ids report, the same in both Rooms implementations: issued, evicted and
// refused ids in /metrics, and refusals in the log at most once per 10 s (an address can
// be refused thousands of times a second).
#include "cluster/rooms.hpp"
#include "obs/log_throttle.hpp"
#include "obs/logger.hpp"
#include "obs/metrics.hpp"

#include <string>

namespace tandem::cluster {

class ShortIdMetrics {
 public:
  ShortIdMetrics(obs::Registry& registry, obs::Logger& logger);

  // A new id: for an existing room, or a pending one (its room does not exist yet).
  void created(bool room_exists);
  void evicted(std::size_t count);
  void refused(ShortIdAnswer::Refusal why, const std::string& room_id,
               const std::string& address, protocol::Millis now);

 private:
  obs::Logger& logger_;
  obs::CounterSet created_;
  obs::Counter& evicted_;
  obs::CounterSet refused_;
  obs::LogThrottle log_throttle_{10'000};
};

}  // namespace tandem::cluster
