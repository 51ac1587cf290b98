#pragma once
// The reply of a Redis write nobody waits for (index upkeep, a stateless PUBLISH, node
// registration): read all the same, so that a failure is counted
// (tandem_cluster_redis_write_failures_total) and, when Redis itself refused it, logged.
// A DISCONNECTED one is counted only: the connection already says it is down, and while it
// is, every write would log.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "redis/redis_connection.hpp"

#include <string>

namespace tandem::cluster {

class RedisWriteCheck {
 public:
  RedisWriteCheck(obs::Registry& registry, obs::Logger& logger);

  // The callback for one write: `what` names it in the log ("room_index_add", ...), `key`
  // the room or node it was for.
  redis::RedisConnection::ReplyCallback expect(std::string what, std::string key) const;

 private:
  obs::Counter& failures_;
  obs::Logger& logger_;
};

}  // namespace tandem::cluster
