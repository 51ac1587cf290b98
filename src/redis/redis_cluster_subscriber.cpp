#include "redis/redis_cluster_subscriber.hpp"

#include "redis/slot_map.hpp"

#include <random>

namespace tandem::redis {

RedisClusterSubscriber::RedisClusterSubscriber(Executor executor, RedisConfig base,
                                               RedisClusterConnection& commands,
                                               obs::Logger& logger)
    : executor_(std::move(executor)), base_(std::move(base)), commands_(commands), logger_(logger) {
  commands_.on_map_change([this] { remap(); });
}

RedisClusterSubscriber::~RedisClusterSubscriber() {
  commands_.on_map_change(nullptr);
  for (auto& [key, shard] : shards_) {
    if (shard.connection) shard.connection->cancel();
    if (shard.retry) shard.retry->cancel();  // its handler sees the abort and returns
  }
}

void RedisClusterSubscriber::subscribe(const std::string& channel) {
  if (channels_.insert(channel).second) remap();
}

void RedisClusterSubscriber::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0) return;
  const auto it = placed_.find(channel);
  if (it == placed_.end()) return;
  Shard& shard = shards_.at(it->second);
  shard.channels.erase(channel);
  if (shard.connection) shard.connection->send({"SUNSUBSCRIBE", channel});
  placed_.erase(it);
}

std::optional<Endpoint> RedisClusterSubscriber::placed_on(const std::string& channel) const {
  const auto it = placed_.find(channel);
  if (it == placed_.end()) return std::nullopt;
  return Endpoint{it->second.first, it->second.second};
}

// Every wanted channel on the master of its slot: moved ones unsubscribed where they were.
void RedisClusterSubscriber::remap() {
  for (const auto& channel : channels_) {
    const auto master = commands_.master_for(channel);
    if (!master) return;  // no map yet: remap() runs again when one comes
    const Key want{master->host, master->port};
    const auto it = placed_.find(channel);
    if (it != placed_.end() && it->second == want) continue;
    if (it != placed_.end()) {
      Shard& old = shards_.at(it->second);
      old.channels.erase(channel);
      if (old.connection) old.connection->send({"SUNSUBSCRIBE", channel});
    }
    Shard& target = shard(*master);
    target.channels.insert(channel);
    placed_[channel] = want;
    if (target.connection) {
      target.connection->send({"SSUBSCRIBE", channel});
    } else if (!target.retry_pending) {
      connect(target);  // subscribes its channels
    }
  }
}

RedisClusterSubscriber::Shard& RedisClusterSubscriber::shard(const Endpoint& at) {
  const Key key{at.host, at.port};
  auto it = shards_.find(key);
  if (it == shards_.end()) {
    it = shards_
             .emplace(key, Shard{at, nullptr, {}, std::make_unique<asio::steady_timer>(executor_),
                                 Backoff(base_.backoff_initial, base_.backoff_max,
                                         std::random_device{}())})
             .first;
  }
  return it->second;
}

void RedisClusterSubscriber::connect(Shard& shard) {
  const Key key{shard.at.host, shard.at.port};
  shard.connection = std::make_shared<RespConnection>(
      executor_, shard.at, base_.connect_timeout, 0,
      [this, key](Reply reply) { return on_push(key, std::move(reply)); },
      [this, key](const std::string& error) { on_lost(key, error); });
  if (!base_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!base_.username.empty()) auth.push_back(base_.username);
    auth.push_back(base_.password);
    shard.connection->send(auth);
  }
  // One command per channel: each is confirmed by its own push.
  for (const auto& channel : shard.channels) shard.connection->send({"SSUBSCRIBE", channel});
  shard.connection->start();
}

bool RedisClusterSubscriber::on_push(const Key& key, Reply reply) {
  Shard& shard = shards_.at(key);
  if (parse_redirect(reply)) {
    commands_.refresh();  // SSUBSCRIBE on a master that no longer has the slot: remapped
    return true;
  }
  if (reply.is_error()) {
    logger_.warn("redis_shard_subscriber_error", {{"connection", base_.name},
                                                   {"host", shard.at.host},
                                                   {"port", shard.at.port},
                                                   {"error", reply.str}});
    return false;  // reconnects with backoff
  }
  if (!reply.is_array() || reply.elements.size() < 2 || !reply.elements[1].is_string()) {
    return true;  // AUTH's +OK
  }
  const std::string& kind = reply.elements[0].str;
  const std::string& channel = reply.elements[1].str;
  const bool ours = shard.channels.contains(channel);
  if (kind == "smessage" && ours && reply.elements.size() == 3) {
    if (message_handler_) message_handler_(channel, reply.elements[2].str);
  } else if (kind == "ssubscribe" && ours) {
    shard.backoff.reset();
    if (subscribed_handler_) subscribed_handler_(channel);
  } else if (kind == "sunsubscribe" && ours) {
    // Not asked for: the master no longer serves the slot. Where it lives now is in the
    // next slot map.
    shard.channels.erase(channel);
    placed_.erase(channel);
    commands_.refresh();
  }
  return true;
}

void RedisClusterSubscriber::on_lost(const Key& key, const std::string& error) {
  Shard& shard = shards_.at(key);
  shard.connection.reset();
  logger_.warn("redis_shard_subscriber_lost", {{"connection", base_.name},
                                               {"host", shard.at.host},
                                               {"port", shard.at.port},
                                               {"error", error}});
  // The master may be gone for good (a failover): the map says where its slots went.
  commands_.refresh();
  shard.retry_pending = true;
  shard.retry->expires_after(shard.backoff.next());
  shard.retry->async_wait([this, key](const boost::system::error_code& ec) {
    if (ec) return;
    Shard& again = shards_.at(key);
    again.retry_pending = false;
    // A shard whose channels all moved away stays idle until one comes back.
    if (!again.connection && !again.channels.empty()) connect(again);
  });
}

}  // namespace tandem::redis
