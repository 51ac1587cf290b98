#include "cluster/short_id_metrics.hpp"

namespace tandem::cluster {

ShortIdMetrics::ShortIdMetrics(obs::Registry& registry, obs::Logger& logger)
    : logger_(logger),
      created_(registry, "tandem_short_ids_created_total",
               "Short ids issued, by whether their room existed (pending: not yet)", "room",
               {"existing", "pending"}),
      evicted_(registry.counter("tandem_short_ids_evicted_total",
                                "Short ids of absent rooms evicted to stay within "
                                "SHORT_ID_MAX_PENDING")),
      refused_(registry, "tandem_short_ids_refused_total",
               "GET /api/short-id requests refused, by reason", "reason",
               {"rate_limited", "unavailable"}) {}

void ShortIdMetrics::created(bool room_exists) {
  created_[room_exists ? "existing" : "pending"].inc();
}

void ShortIdMetrics::evicted(std::size_t count) {
  if (count > 0) evicted_.inc(count);
}

void ShortIdMetrics::refused(ShortIdAnswer::Refusal why, const std::string& room_id,
                             const std::string& address, protocol::Millis now) {
  const char* reason = why == ShortIdAnswer::Refusal::rate_limited ? "rate_limited" : "unavailable";
  refused_[reason].inc();
  std::uint64_t held_back = 0;
  if (!log_throttle_.allow(now, held_back)) return;
  logger_.warn("short_id_refused", {{"reason", reason},
                                    {"room", room_id},
                                    {"remote", address},
                                    {"heldBack", static_cast<std::int64_t>(held_back)}});
}

}  // namespace tandem::cluster
