#pragma once
// A Redis pub/sub connection on the Asio loop (hiredis underneath, never visible here).
//
// It tracks the channels it was asked for and SUBSCRIBEs all of them after every
// (re)connect (STYLE.md 8); subscribe()/unsubscribe() while disconnected only update that
// set. Reconnects as RedisConnection does (jittered backoff, a new context per attempt).
//
// - on_message(channel, message): a message published on a tracked channel. Messages
//   published while the connection is down are lost (pub/sub is not durable): a user that
//   needs every event resynchronises when on_subscribed fires again.
// - on_subscribed(channel): Redis confirmed the subscription, so messages published from
//   now on arrive. It fires after subscribe() and again after every reconnect.
// - After unsubscribe(channel) returns, no message of that channel is delivered.
// - All handlers run from handlers posted to the executor, in the order Redis sent the
//   messages, and never after the destructor. Use it from the executor's thread.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "redis/redis_config.hpp"
#include "redis/types.hpp"

#include <functional>
#include <memory>
#include <set>
#include <string>

namespace tandem::redis {

namespace detail {
class RedisLink;
}

class RedisSubscriber {
 public:
  using MessageHandler =
      std::function<void(const std::string& channel, const std::string& message)>;
  using SubscribedHandler = std::function<void(const std::string& channel)>;
  using StateHandler = std::function<void(bool connected)>;

  // config.db is ignored (pub/sub channels are not per database); config.name defaults to
  // "subscriber" when left at "command".
  RedisSubscriber(Executor executor, RedisConfig config, obs::Logger& logger,
                  obs::Registry& registry);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // Set handlers first, then start().
  void on_message(MessageHandler handler);
  void on_subscribed(SubscribedHandler handler);
  void on_state_change(StateHandler handler);
  void start();

  bool connected() const noexcept;
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  // The tracked set (what is re-subscribed after a reconnect).
  const std::set<std::string>& channels() const noexcept;

 private:
  std::shared_ptr<detail::RedisLink> link_;
};

}  // namespace tandem::redis
