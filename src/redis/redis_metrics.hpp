#pragma once
// Metrics owned by one Redis connection, labelled with its name (RedisConfig::name), so a
// node's command and subscriber connections are told apart.
#include "obs/metrics.hpp"

#include <string>

namespace tandem::redis {

struct RedisMetrics {
  RedisMetrics(obs::Registry& registry, const std::string& name);

  obs::Gauge& connected;         // tandem_redis_connected: 1 while usable
  obs::Counter& reconnects;      // tandem_redis_reconnects_total: re-established after a drop
  obs::Counter& command_errors;  // tandem_redis_command_errors_total: error replies and
                                 // commands failed by this client (down, overloaded, lost)
};

}  // namespace tandem::redis
