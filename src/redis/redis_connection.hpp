#pragma once
// A Redis command connection on the Asio loop (hiredis underneath, never visible here).
//
// - start() connects (AUTH and SELECT as configured) and keeps reconnecting by itself after
//   any drop, with jittered exponential backoff (RedisConfig::backoff_initial doubling to
//   backoff_max); each attempt is a new hiredis context.
// - command() sends at once when connected. There is no queue while disconnected: a command
//   issued then fails fast with a DISCONNECTED error, and one issued with max_pending
//   replies outstanding fails with OVERLOADED. A command in flight when the connection
//   drops gets CONNECTION_LOST (it may or may not have run; nothing is retried).
// - Callbacks (replies, state changes) always run on the executor, from a posted handler:
//   never inside command() itself and never inside hiredis. Replies come in command order.
// - Destroying the connection frees the hiredis context; callbacks of commands still in
//   flight are dropped (destroyed, not called), and nothing is called after the destructor.
//   Destroy it on the loop thread.
//
// Single-threaded: use from the thread that runs the executor.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "redis/lua_script.hpp"
#include "redis/redis_config.hpp"
#include "redis/reply.hpp"
#include "redis/types.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tandem::redis {

namespace detail {
class RedisLink;
}

class RedisConnection {
 public:
  using ReplyCallback = std::function<void(Reply)>;
  using StateHandler = std::function<void(bool connected)>;

  RedisConnection(Executor executor, RedisConfig config, obs::Logger& logger,
                  obs::Registry& registry);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Set handlers first, then start().
  void on_state_change(StateHandler handler);
  void start();

  // True while connected and past AUTH/SELECT: commands are sent.
  bool connected() const noexcept;
  // Commands sent and not yet answered (bounded by RedisConfig::max_pending).
  std::size_t pending() const noexcept;

  // args[0] is the command name; arguments are binary-safe.
  void command(const std::vector<std::string>& args, ReplyCallback callback);

  // EVALSHA script.sha1 numkeys keys... args...; on NOSCRIPT (a Redis that has not seen the
  // script: first use, restart, SCRIPT FLUSH, failover) it is sent again as EVAL, which also
  // caches it on that server, so later calls on the connection hit the cache. A fallback is
  // one more round trip, and its EVAL is ordered after commands issued meanwhile.
  void eval_sha(const LuaScript& script, const std::vector<std::string>& keys,
                const std::vector<std::string>& args, ReplyCallback callback);

 private:
  std::shared_ptr<detail::RedisLink> link_;
};

}  // namespace tandem::redis
