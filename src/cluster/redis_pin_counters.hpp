#pragma once
// Cluster mode's PIN lockout counters in Redis (standalone keeps them in PinFailureTable):
// reading a JOIN's counters before its PIN check, and counting a wrong PIN in every scope
// PinLockout lists, atomically per hash slot, with the locks that count sets (each one
// logged, counted and journaled as a PIN_LOCKOUT audit row).
#include "cluster/pin_lockout.hpp"
#include "cluster/redis_write_check.hpp"
#include "cluster/room_metrics.hpp"
#include "cluster/transition_journal.hpp"
#include "obs/logger.hpp"
#include "redis/lua_script.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tandem::redis {
class RedisConnection;
}  // namespace tandem::redis

namespace tandem::cluster {

class RedisPinCounters {
 public:
  RedisPinCounters(redis::RedisConnection& redis, const PinLockout& lockout, RoomMetrics& metrics,
                   TransitionJournal& journal, const RedisWriteCheck& writes, obs::Logger& logger,
                   std::function<protocol::Millis()> clock);
  ~RedisPinCounters();
  RedisPinCounters(const RedisPinCounters&) = delete;
  RedisPinCounters& operator=(const RedisPinCounters&) = delete;

  // The counters a JOIN of `user_id` from `address` into `room_id` is judged by (nullopt:
  // Redis did not answer every read).
  void fetch(const std::string& room_id, const std::string& user_id, const std::string& address,
             std::function<void(std::optional<PinCounters>)> done);
  // Counts a wrong PIN (after its JOIN committed, so the lockout row follows PIN_FAILED).
  void count_failure(const std::string& room_id, const std::string& user_id,
                     const std::string& address, const PinAttempt& attempt,
                     const PinCounters& counters);

 private:
  redis::RedisConnection& redis_;
  const PinLockout& lockout_;
  RoomMetrics& metrics_;
  TransitionJournal& journal_;
  const RedisWriteCheck& writes_;
  obs::Logger& logger_;
  std::function<protocol::Millis()> clock_;
  redis::LuaScript fail_script_;
  std::shared_ptr<RedisPinCounters*> alive_;
};

}  // namespace tandem::cluster
