#include "cluster/redis_write_check.hpp"

#include "redis/reply.hpp"

namespace tandem::cluster {

RedisWriteCheck::RedisWriteCheck(obs::Registry& registry, obs::Logger& logger)
    : failures_(registry.counter("tandem_cluster_redis_write_failures_total",
                                 "Redis writes whose reply was an error (index upkeep, "
                                 "stateless publishes, node registration)")),
      logger_(logger) {}

redis::RedisConnection::ReplyCallback RedisWriteCheck::expect(std::string what,
                                                              std::string key) const {
  // The registry and the logger outlive every Redis connection (app/application.cpp).
  return [&failures = failures_, &logger = logger_, what = std::move(what),
          key = std::move(key)](redis::Reply reply) {
    if (!reply.is_error()) return;
    failures.inc();
    if (reply.error_code() == redis::kErrDisconnected) return;
    logger.warn("redis_write_failed", {{"what", what}, {"key", key}, {"error", reply.str}});
  };
}

}  // namespace tandem::cluster
