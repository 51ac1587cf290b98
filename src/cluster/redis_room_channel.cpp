#include "cluster/redis_room_channel.hpp"

#include "cluster/redis_keys.hpp"
#include "redis/redis_subscriber.hpp"

#include <algorithm>
#include <vector>

namespace tandem::cluster {

namespace {

constexpr std::string_view kChannelPrefix = "tandem:{room:";
constexpr std::string_view kChannelSuffix = "}:events";

}  // namespace

std::optional<std::string> room_of_channel(std::string_view channel) {
  if (channel.size() <= kChannelPrefix.size() + kChannelSuffix.size() ||
      channel.substr(0, kChannelPrefix.size()) != kChannelPrefix ||
      channel.substr(channel.size() - kChannelSuffix.size()) != kChannelSuffix) {
    return std::nullopt;
  }
  return std::string(channel.substr(
      kChannelPrefix.size(), channel.size() - kChannelPrefix.size() - kChannelSuffix.size()));
}

RedisRoomChannel::RedisRoomChannel(redis::RedisSubscriber& subscriber, RedisRoomTable& rooms,
                                   const std::unordered_map<std::string, ConnId>& peers,
                                   Outbox& outbox, RoomMetrics& room_metrics,
                                   ClusterMetrics& metrics, obs::Logger& logger,
                                   std::string node_id, Hooks hooks)
    : subscriber_(subscriber),
      rooms_(rooms),
      peers_(peers),
      outbox_(outbox),
      room_metrics_(room_metrics),
      metrics_(metrics),
      logger_(logger),
      node_id_(std::move(node_id)),
      hooks_(std::move(hooks)),
      alive_(std::make_shared<RedisRoomChannel*>(this)) {}

RedisRoomChannel::~RedisRoomChannel() = default;

void RedisRoomChannel::start() {
  std::weak_ptr<RedisRoomChannel*> alive = alive_;
  subscriber_.on_message([alive](const std::string& channel, const std::string& text) {
    if (auto self = alive.lock()) (**self).on_message(channel, text);
  });
  subscriber_.on_subscribed([alive](const std::string& channel) {
    if (auto self = alive.lock()) (**self).on_subscribed(channel);
  });
  subscriber_.on_state_change([alive](bool connected) {
    auto self = alive.lock();
    if (self && !connected) (**self).on_down();
  });
}

bool RedisRoomChannel::connected() const {
  return subscriber_.connected();
}

void RedisRoomChannel::subscribe(const std::string& room_id) {
  RedisRoomEntry& entry = rooms_[room_id];
  if (entry.want_subscription) return;
  entry.want_subscription = true;
  subscriber_.subscribe(keys::room_channel(room_id));
}

void RedisRoomChannel::release(const std::string& room_id, const RedisRoomEntry& entry) {
  if (entry.want_subscription) subscriber_.unsubscribe(keys::room_channel(room_id));
}

void RedisRoomChannel::on_subscribed(const std::string& channel) {
  auto room_id = room_of_channel(channel);
  if (!room_id) return;
  auto it = rooms_.find(*room_id);
  if (it == rooms_.end()) return;
  it->second.subscribed = true;
  it->second.fresh = false;  // read the snapshot again: messages may have been missed
  hooks_.pump(*room_id);
}

void RedisRoomChannel::on_down() {
  // Messages may be missed from now on: no cache stays trusted, and operations that wait
  // for a subscription fail instead of waiting.
  std::vector<std::string> ids;
  for (auto& [id, entry] : rooms_) {
    // Their JOINs' messages may never come now: members at once.
    for (auto& [conn, joined] : entry.joined_early) entry.local[conn] = std::move(joined.member);
    entry.joined_early.clear();
    entry.subscribed = false;
    entry.fresh = false;
    entry.awaiting_version = 0;  // lost with the connection
    ids.push_back(id);
  }
  for (const auto& id : ids) hooks_.pump(id);
}

void RedisRoomChannel::on_message(const std::string& channel, const std::string& text) {
  metrics_.messages_in.inc();
  auto room_id = room_of_channel(channel);
  auto it = room_id ? rooms_.find(*room_id) : rooms_.end();
  if (it == rooms_.end()) return;
  RedisRoomEntry& entry = it->second;
  auto message = decode_message(text);
  if (!message) {
    metrics_.bad_messages.inc();
    logger_.error("bad_cluster_message", {{"room", *room_id}, {"bytes", text.size()}});
    entry.fresh = false;
    return;
  }
  apply_version(entry, *message);
  adopt_joiner(*room_id, entry, *message);
  for (const auto& close : message->closes) {
    auto peer = peers_.find(close.peer);
    if (peer == peers_.end()) continue;
    const ConnId conn = peer->second;
    hooks_.unbind(conn, close.peer);  // erases `peer`
    entry.local.erase(conn);
    entry.joined_early.erase(conn);
    outbox_.close(conn, close.code, close.reason);
  }
  for (auto& delivery : message->deliveries) deliver(entry, delivery, message->sender);
  if (entry.awaiting_version != 0 && entry.heard_version >= entry.awaiting_version) {
    entry.awaiting_version = 0;
    hooks_.release(*room_id);  // last: it may erase `entry`
  }
}

void RedisRoomChannel::apply_version(RedisRoomEntry& entry, ClusterMessage& message) {
  entry.latest_version = std::max(entry.latest_version, message.version);
  entry.heard_version = std::max(entry.heard_version, message.version);
  if (message.version == 0 || (entry.cache && entry.cache->version >= message.version)) return;
  if (message.state) {
    entry.cache = std::move(*message.state);  // the truth as of this version
    entry.fresh = entry.subscribed;
    message.state.reset();
  } else {
    entry.fresh = false;  // changed elsewhere: read again before the next change here
  }
}

void RedisRoomChannel::adopt_joiner(const std::string& room_id, RedisRoomEntry& entry,
                                    const ClusterMessage& message) {
  if (message.version == 0) return;
  // Replies first: those whose JOIN's version has now been heard.
  for (auto it = entry.joined_early.begin(); it != entry.joined_early.end();) {
    if (it->second.version > entry.heard_version) {
      ++it;
      continue;
    }
    entry.local[it->first] = std::move(it->second.member);
    it = entry.joined_early.erase(it);
  }
  // The message first: its sender's JOIN is still waiting for its reply.
  if (message.sender.empty() || entry.joining == 0 || !entry.cache) return;
  auto peer = peers_.find(message.sender);
  if (peer == peers_.end()) return;
  const auto user_id = hooks_.joining(peer->second, room_id);
  if (!user_id) return;
  for (const auto& member : entry.cache->members) {
    if (member.user_id == *user_id && member.peer_id == message.sender &&
        member.node_id == node_id_) {
      entry.local[peer->second] =
          RedisRoomEntry::LocalMember{member.user_id, member.peer_id, member.capabilities};
    }
  }
}

void RedisRoomChannel::deliver(const RedisRoomEntry& entry, MessageDelivery& delivery,
                               const std::string& sender) {
  std::size_t recipients = 0;
  // Shared per variant: index 0 is delivery.frame, i + 1 delivery.variants[i].
  std::vector<protocol::Frame> frames(1 + delivery.variants.size());
  auto send = [&](ConnId conn, protocol::Capabilities capabilities) {
    const std::size_t i = delivery.variant_for(capabilities);
    if (!frames[i]) {
      frames[i] = std::make_shared<const std::string>(
          std::move(i == 0 ? delivery.frame : delivery.variants[i - 1].second));
    }
    outbox_.send(conn, frames[i]);
    ++recipients;
  };
  if (delivery.target == Target::peer) {
    if (auto peer = peers_.find(delivery.peer); peer != peers_.end()) send(peer->second, 0);
  } else {
    for (const auto& [conn, local] : entry.local) {
      switch (delivery.target) {
        case Target::all:
          send(conn, local.capabilities);
          break;
        case Target::except: {
          const std::string& excluded = delivery.peer.empty() ? sender : delivery.peer;
          if (local.user_id != delivery.user && local.peer_id != excluded) {
            send(conn, local.capabilities);
          }
          break;
        }
        case Target::user:
          if (local.user_id == delivery.user &&
              (delivery.peer.empty() || local.peer_id == delivery.peer)) {
            send(conn, local.capabilities);
          }
          break;
        case Target::peer:
          break;
      }
    }
  }
  room_metrics_.delivered(delivery.type, delivery.error_code, recipients);
}

}  // namespace tandem::cluster
