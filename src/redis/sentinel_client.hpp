#pragma once
// Redis Sentinel (REDIS_SENTINELS, REDIS_MASTER_NAME): where the master is now, and when it
// moves. A RedisLink in Sentinel mode asks resolve() before every connection attempt, so any
// lost connection re-checks the master, and watch()es +switch-master, so a link still on a
// demoted master (which keeps its clients but is now a read-only replica, and whose
// subscribers no longer get the room channels) leaves it at once.
//
// Over RespConnection (a sentinel is asked two or three commands). Sentinels are tried in
// turn, starting with the last one that answered; each exchange has a deadline.
#include "redis/backoff.hpp"
#include "redis/redis_config.hpp"
#include "redis/reply.hpp"
#include "redis/resp_connection.hpp"
#include "redis/types.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::redis {

// The master's address from a SENTINEL get-master-addr-by-name reply, or nullopt.
std::optional<Endpoint> master_from_reply(const Reply& reply);
// The new master from a +switch-master message ("name oldip oldport newip newport") when it
// is about `master_name`, else nullopt.
std::optional<Endpoint> switched_master(std::string_view message, std::string_view master_name);

class SentinelClient : public std::enable_shared_from_this<SentinelClient> {
 public:
  using Resolved = std::function<void(std::optional<Endpoint> master, std::string error)>;
  using Switched = std::function<void(const Endpoint& master)>;

  SentinelClient(Executor executor, SentinelConfig config);
  ~SentinelClient();
  SentinelClient(const SentinelClient&) = delete;
  SentinelClient& operator=(const SentinelClient&) = delete;

  // Asks the sentinels in turn; `done` runs on the executor, once, unless shutdown() came
  // first. One resolve at a time (a link asks before each of its attempts).
  void resolve(Resolved done);
  // Keeps a +switch-master subscription on one sentinel (another one, after a backoff, when
  // it is lost) and calls `on_switch` for each switch of this master, until shutdown().
  void watch(Switched on_switch);
  void shutdown();

 private:
  void ask(std::size_t tried, Resolved done);
  void subscribe_next();

  Executor executor_;
  SentinelConfig config_;
  std::size_t preferred_ = 0;  // the sentinel that answered last
  std::size_t watch_index_ = 0;
  std::shared_ptr<RespConnection> query_;
  std::shared_ptr<RespConnection> watch_;
  Switched on_switch_;
  asio::steady_timer watch_retry_;
  Backoff watch_backoff_;
  bool stopped_ = false;
};

}  // namespace tandem::redis
