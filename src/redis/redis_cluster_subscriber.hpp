#pragma once
// Sharded pub/sub on a Redis Cluster (Redis 7): each channel is SSUBSCRIBEd on the master of
// its slot, so a message SPUBLISHed for a room reaches only the shard that owns the room,
// not every node of the cluster as PUBLISH would. The slot map is the command connection's;
// when it changes, or a master drops a channel because its slot moved ("sunsubscribe"),
// channels are subscribed where they live now. One RespConnection per master that has
// channels (hiredis 0.14's async context does not know SSUBSCRIBE), reconnected with
// backoff. Handlers as RedisSubscriber's: run on the executor, never after destruction.
#include "obs/logger.hpp"
#include "redis/backoff.hpp"
#include "redis/redis_cluster_connection.hpp"
#include "redis/redis_config.hpp"
#include "redis/resp_connection.hpp"
#include "redis/types.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

namespace tandem::redis {

class RedisClusterSubscriber {
 public:
  using MessageHandler =
      std::function<void(const std::string& channel, const std::string& message)>;
  using SubscribedHandler = std::function<void(const std::string& channel)>;

  // `commands` gives the slot map and must outlive this subscriber.
  RedisClusterSubscriber(Executor executor, RedisConfig base, RedisClusterConnection& commands,
                         obs::Logger& logger);
  ~RedisClusterSubscriber();
  RedisClusterSubscriber(const RedisClusterSubscriber&) = delete;
  RedisClusterSubscriber& operator=(const RedisClusterSubscriber&) = delete;

  void on_message(MessageHandler handler) { message_handler_ = std::move(handler); }
  // Redis confirmed the channel on the master that owns it (again after each move).
  void on_subscribed(SubscribedHandler handler) { subscribed_handler_ = std::move(handler); }
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  // Places every channel by the current slot map (also called on each map change).
  void remap();
  // The master a channel is subscribed on now (tests, /status), if any.
  std::optional<Endpoint> placed_on(const std::string& channel) const;

 private:
  struct Shard {
    Endpoint at;
    std::shared_ptr<RespConnection> connection;
    std::set<std::string> channels;
    std::unique_ptr<asio::steady_timer> retry;
    Backoff backoff;
    bool retry_pending = false;
  };
  using Key = std::pair<std::string, std::uint16_t>;

  Shard& shard(const Endpoint& at);
  void connect(Shard& shard);
  bool on_push(const Key& key, Reply reply);
  void on_lost(const Key& key, const std::string& error);

  Executor executor_;
  RedisConfig base_;
  RedisClusterConnection& commands_;
  obs::Logger& logger_;
  MessageHandler message_handler_;
  SubscribedHandler subscribed_handler_;
  std::set<std::string> channels_;      // what the user wants
  std::map<std::string, Key> placed_;   // channel -> the shard it was subscribed on
  std::map<Key, Shard> shards_;
};

}  // namespace tandem::redis
