#pragma once
// Commands to a Redis Cluster (REDIS_CLUSTER_NODES), with RedisConnection's contract: one
// RedisConnection per master, the slot map read with CLUSTER SLOTS from any node, each
// command sent to the master of its key's slot, MOVED (the map updated, re-read, the
// command sent again) and ASK (ASKING, then the command, on that node) followed at most
// kMaxRedirects times. No queue: a command whose master is not connected fails fast with
// DISCONNECTED, as RedisConnection's do.
//
// The key of a command is args[1], or EVAL/EVALSHA's first key; commands without a key
// (PING, CLUSTER, INFO, SCRIPT, PUBLISH, ...) go to the first master. Every key of one
// command must share a slot (Redis refuses CROSSSLOT otherwise): a room's keys do.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "redis/lua_script.hpp"
#include "redis/redis_config.hpp"
#include "redis/redis_connection.hpp"
#include "redis/reply.hpp"
#include "redis/slot_map.hpp"
#include "redis/types.hpp"

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tandem::redis {

class RedisClusterConnection {
 public:
  using ReplyCallback = std::function<void(Reply)>;
  using StateHandler = std::function<void(bool connected)>;
  static constexpr int kMaxRedirects = 5;
  static constexpr std::size_t kMaxMasters = 64;

  // `base`: password, timeouts, backoff and name of every link; its host/port are unused.
  RedisClusterConnection(Executor executor, RedisConfig base, std::vector<Endpoint> seeds,
                         obs::Logger& logger, obs::Registry& registry);
  ~RedisClusterConnection();
  RedisClusterConnection(const RedisClusterConnection&) = delete;
  RedisClusterConnection& operator=(const RedisClusterConnection&) = delete;

  void on_state_change(StateHandler handler) { state_handler_ = std::move(handler); }
  // After each change of the slot map (a new map read, or a MOVED slot).
  void on_map_change(std::function<void()> handler) { map_handler_ = std::move(handler); }
  // Reads the slot map again (one read at a time; a request meanwhile is made after it).
  void refresh();
  void start();

  // True with a slot map whose every master is connected.
  bool connected() const noexcept;
  std::size_t master_count() const noexcept { return map_ ? map_->masters().size() : 0; }
  // Where `key` is served now (nullopt before the first map).
  std::optional<Endpoint> master_for(std::string_view key) const;

  void command(const std::vector<std::string>& args, ReplyCallback callback);
  void eval_sha(const LuaScript& script, const std::vector<std::string>& keys,
                const std::vector<std::string>& args, ReplyCallback callback);

 private:
  // One command on its way: where it goes and what to send there.
  struct Request {
    std::vector<std::string> args;              // a plain command, or
    std::optional<LuaScript> script;            // eval_sha's (its source is shared)
    std::vector<std::string> keys, script_args;
    ReplyCallback callback;
    int redirects = 0;
  };

  RedisConnection& link(const Endpoint& to);
  Endpoint route(std::optional<std::uint16_t> slot) const;
  // To the master of `slot` (any master without one), or DISCONNECTED before a map.
  void dispatch(std::shared_ptr<Request> request, std::optional<std::uint16_t> slot);
  void send(Endpoint to, std::shared_ptr<Request> request, bool asking);
  void on_reply(std::shared_ptr<Request> request, Reply reply);
  void on_link_state();

  Executor executor_;
  RedisConfig base_;
  std::vector<Endpoint> seeds_;
  obs::Logger& logger_;
  obs::Registry& registry_;
  StateHandler state_handler_;
  std::function<void()> map_handler_;
  std::map<std::pair<std::string, std::uint16_t>, std::unique_ptr<RedisConnection>> links_;
  std::optional<SlotMap> map_;
  bool refreshing_ = false;
  bool refresh_again_ = false;
  bool was_connected_ = false;
  bool started_ = false;
};

// The slot a command's key hashes to, or nullopt for a command without a key.
std::optional<std::uint16_t> command_slot(const std::vector<std::string>& args);

}  // namespace tandem::redis
