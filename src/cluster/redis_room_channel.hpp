#pragma once
// Cluster mode's channel side: one Redis channel per room (tandem:{room:ID}:events), to
// which a node subscribes while it works on the room. It decodes each transition message,
// brings the room's cached snapshot and versions up to date, makes a joiner whose JOIN the
// message committed a local member, carries out closes, and delivers each frame to this
// node's members of the room (each picks its capability variant; targeted deliveries only
// to their user or connection). When the subscriber drops, messages may be missed: no
// cached snapshot stays trusted and the queues go on (commands then fail at once).
#include "cluster/cluster_message.hpp"
#include "cluster/cluster_metrics.hpp"
#include "cluster/outbox.hpp"
#include "cluster/redis_room_entry.hpp"
#include "cluster/room_metrics.hpp"
#include "obs/logger.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tandem::redis {
class RedisSubscriber;
}  // namespace tandem::redis

namespace tandem::cluster {

// The room id of a room channel's name (nullopt: not one).
std::optional<std::string> room_of_channel(std::string_view channel);

class RedisRoomChannel {
 public:
  struct Hooks {
    std::function<void(const std::string& room_id)> pump;              // the room's queue may go on
    std::function<void(ConnId conn, const std::string& peer)> unbind;  // a close came for it
    std::function<void(const std::string& room_id)> release;           // the room may be done with
    // The user id of the connection's JOIN into the room that waits for its reply, if any.
    std::function<std::optional<std::string>(ConnId conn, const std::string& room_id)> joining;
  };

  // `peers`: this node's connections by peer id.
  RedisRoomChannel(redis::RedisSubscriber& subscriber, RedisRoomTable& rooms,
                   const std::unordered_map<std::string, ConnId>& peers, Outbox& outbox,
                   RoomMetrics& room_metrics, ClusterMetrics& metrics, obs::Logger& logger,
                   std::string node_id, Hooks hooks);
  ~RedisRoomChannel();
  RedisRoomChannel(const RedisRoomChannel&) = delete;
  RedisRoomChannel& operator=(const RedisRoomChannel&) = delete;

  // Takes the subscriber's messages and state changes from now on.
  void start();
  // Subscribes to the room's channel unless asked already (the queue pumps once confirmed).
  void subscribe(const std::string& room_id);
  // The room's entry is going away: its channel too, if it was asked for.
  void release(const std::string& room_id, const RedisRoomEntry& entry);
  bool connected() const;

 private:
  void on_message(const std::string& channel, const std::string& text);
  void on_subscribed(const std::string& channel);
  void on_down();
  // The newest version heard, and the snapshot when the message carries it.
  static void apply_version(RedisRoomEntry& entry, ClusterMessage& message);
  // The one place where a connection of this node becomes a local member of the room:
  // when the message of its own JOIN is heard, whichever of that message and the JOIN's
  // reply came first, so it gets nothing published before its ROOM_STATE and everything
  // after. (The reply's side: RedisRooms::bind_joined.)
  void adopt_joiner(const std::string& room_id, RedisRoomEntry& entry,
                    const ClusterMessage& message);
  void deliver(const RedisRoomEntry& entry, MessageDelivery& delivery, const std::string& sender);

  redis::RedisSubscriber& subscriber_;
  RedisRoomTable& rooms_;
  const std::unordered_map<std::string, ConnId>& peers_;
  Outbox& outbox_;
  RoomMetrics& room_metrics_;
  ClusterMetrics& metrics_;
  obs::Logger& logger_;
  std::string node_id_;
  Hooks hooks_;
  std::shared_ptr<RedisRoomChannel*> alive_;
};

}  // namespace tandem::cluster
