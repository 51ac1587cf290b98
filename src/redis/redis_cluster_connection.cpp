#include "redis/redis_cluster_connection.hpp"

#include "redis/hash_slot.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cctype>
#include <string_view>

namespace tandem::redis {
namespace {

// Commands whose args[1] is not a key (or that have none): sent to any master.
bool keyless(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kNames = {
      "PING", "INFO", "CLUSTER", "SCRIPT", "FUNCTION", "PUBLISH", "TIME", "DBSIZE",
      "CONFIG", "CLIENT", "COMMAND", "ROLE", "ECHO", "ASKING"};
  return std::any_of(kNames.begin(), kNames.end(), [&](std::string_view k) {
    return k.size() == name.size() &&
           std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
             return a == std::toupper(static_cast<unsigned char>(b));
           });
  });
}

bool is_eval(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper == "EVAL" || upper == "EVALSHA" || upper == "EVAL_RO" || upper == "EVALSHA_RO";
}

Reply error(std::string_view code, const std::string& text) {
  return Reply::from_error(std::string(code) + " " + text);
}

}  // namespace

std::optional<std::uint16_t> command_slot(const std::vector<std::string>& args) {
  if (args.size() < 2 || keyless(args[0])) return std::nullopt;
  if (is_eval(args[0])) {
    // EVAL script numkeys key...: the first key, if any.
    unsigned numkeys = 0;
    const std::string& n = args.size() > 2 ? args[2] : args[0];
    const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), numkeys);
    if (ec != std::errc() || end != n.data() + n.size() || numkeys == 0 || args.size() < 4) {
      return std::nullopt;
    }
    return hash_slot(args[3]);
  }
  return hash_slot(args[1]);
}

RedisClusterConnection::RedisClusterConnection(Executor executor, RedisConfig base,
                                               std::vector<Endpoint> seeds, obs::Logger& logger,
                                               obs::Registry& registry)
    : executor_(std::move(executor)),
      base_(std::move(base)),
      seeds_(std::move(seeds)),
      logger_(logger),
      registry_(registry) {
  base_.sentinel = {};
  base_.db = 0;  // a cluster has one database
}

RedisClusterConnection::~RedisClusterConnection() = default;

void RedisClusterConnection::start() {
  if (started_) return;
  started_ = true;
  for (const auto& seed : seeds_) link(seed);
}

RedisConnection& RedisClusterConnection::link(const Endpoint& to) {
  auto& slot = links_[{to.host, to.port}];
  if (!slot) {
    RedisConfig config = base_;
    config.host = to.host;
    config.port = to.port;
    slot = std::make_unique<RedisConnection>(executor_, config, logger_, registry_);
    slot->on_state_change([this](bool) { on_link_state(); });
    if (started_) slot->start();
  }
  return *slot;
}

bool RedisClusterConnection::connected() const noexcept {
  if (!map_) return false;
  return std::all_of(map_->masters().begin(), map_->masters().end(), [&](const Endpoint& m) {
    const auto it = links_.find({m.host, m.port});
    return it != links_.end() && it->second->connected();
  });
}

std::optional<Endpoint> RedisClusterConnection::master_for(std::string_view key) const {
  if (!map_) return std::nullopt;
  return map_->master_of(hash_slot(key));
}

// A link came up or went down: a new link may read the map; the state may have changed.
void RedisClusterConnection::on_link_state() {
  if (!map_ || refresh_again_) refresh();
  const bool now = connected();
  if (now != was_connected_) {
    was_connected_ = now;
    if (state_handler_) state_handler_(now);
  }
}

// CLUSTER SLOTS from any connected link; one at a time (a request made meanwhile is
// remembered and made once this one ends).
void RedisClusterConnection::refresh() {
  if (refreshing_) {
    refresh_again_ = true;
    return;
  }
  const auto it = std::find_if(links_.begin(), links_.end(),
                               [](const auto& entry) { return entry.second->connected(); });
  if (it == links_.end()) {
    refresh_again_ = true;  // when a link comes up
    return;
  }
  refreshing_ = true;
  refresh_again_ = false;
  const std::string host = it->first.first;
  it->second->command({"CLUSTER", "SLOTS"}, [this, host](Reply reply) {
    refreshing_ = false;
    std::string why;
    auto map = SlotMap::from_cluster_slots(reply, host, &why);
    if (map && map->masters().size() <= kMaxMasters) {
      map_ = std::move(map);
      for (const auto& master : map_->masters()) link(master);
      if (map_handler_) map_handler_();
    } else {
      logger_.warn("redis_cluster_slots_unusable",
                   {{"connection", base_.name},
                    {"error", map ? std::string("more than 64 masters") : why}});
      refresh_again_ = true;  // tried again on the next link event or redirect
    }
    if (refresh_again_ && map) refresh();
    on_link_state();
  });
}

Endpoint RedisClusterConnection::route(std::optional<std::uint16_t> slot) const {
  return map_->master_of(slot.value_or(0));
}

void RedisClusterConnection::command(const std::vector<std::string>& args, ReplyCallback callback) {
  auto request = std::make_shared<Request>();
  request->args = args;
  request->callback = std::move(callback);
  dispatch(std::move(request), command_slot(args));
}

void RedisClusterConnection::eval_sha(const LuaScript& script, const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args,
                                      ReplyCallback callback) {
  auto request = std::make_shared<Request>();
  request->script = script;
  request->keys = keys;
  request->script_args = args;
  request->callback = std::move(callback);
  dispatch(std::move(request), keys.empty() ? std::nullopt : std::optional(hash_slot(keys[0])));
}

void RedisClusterConnection::dispatch(std::shared_ptr<Request> request,
                                      std::optional<std::uint16_t> slot) {
  if (!map_) {
    asio::post(executor_, [request] {
      request->callback(error(kErrDisconnected, "no Redis Cluster slot map yet"));
    });
    return;
  }
  send(route(slot), std::move(request), false);
}

void RedisClusterConnection::send(Endpoint to, std::shared_ptr<Request> request, bool asking) {
  RedisConnection& target = link(to);
  // ASKING and the command go on one connection, in order: it applies to the next command.
  if (asking) target.command({"ASKING"}, [](Reply) {});
  auto done = [this, request](Reply reply) { on_reply(request, std::move(reply)); };
  if (request->script) {
    target.eval_sha(*request->script, request->keys, request->script_args, std::move(done));
  } else {
    target.command(request->args, std::move(done));
  }
}

void RedisClusterConnection::on_reply(std::shared_ptr<Request> request, Reply reply) {
  const auto redirect = parse_redirect(reply);
  if (!redirect || request->redirects >= kMaxRedirects) {
    request->callback(std::move(reply));
    return;
  }
  ++request->redirects;
  if (!redirect->ask) {
    map_->move(redirect->slot, redirect->to);  // at once, then the whole map again
    if (map_handler_) map_handler_();
    refresh();
  }
  send(redirect->to, std::move(request), redirect->ask);
}

}  // namespace tandem::redis
