#include "redis/redis_metrics.hpp"

namespace tandem::redis {

RedisMetrics::RedisMetrics(obs::Registry& registry, const std::string& name)
    : connected(registry.gauge("tandem_redis_connected",
                               "1 while the Redis connection is established and usable",
                               {{"connection", name}})),
      reconnects(registry.counter("tandem_redis_reconnects_total",
                                  "Redis connections re-established after a drop",
                                  {{"connection", name}})),
      command_errors(registry.counter(
          "tandem_redis_command_errors_total",
          "Redis commands answered with an error (by Redis or because the connection was down)",
          {{"connection", name}})) {}

}  // namespace tandem::redis
