#pragma once
// Cluster mode: this node's liveness, and the reaping of nodes that died.
//
// The node keeps tandem:node:ID alive (TTL `dead_after`, refreshed every third of it; its
// value is the node's /status description) and its id in tandem:nodes. Every sweep looks
// for registered nodes whose key expired and reaps them: each room in the dead node's
// index (tandem:node:ID:rooms) loses that node's members through the normal room path
// (RedisRooms, `reap_room`); when every room is done the node is unregistered. A room that
// could not be reaped (Redis unreachable) leaves the node registered: a later sweep tries
// again. Several survivors reaping at once is harmless: the room's version check makes the
// removals idempotent.
//
// At its first registration a node reaps its own id too: members a previous run of the
// same node id left behind come back inside their grace period, as after a standalone
// restart. A registration found gone later (declared dead, or Redis emptied) is reported.
#include "cluster/redis_write_check.hpp"
#include "protocol/event.hpp"
#include "redis/redis_connection.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <set>
#include <string>

namespace tandem::cluster {

class NodeLiveness {
 public:
  struct Hooks {
    std::function<boost::json::object()> describe;  // this node's /status entry
    std::function<void()> registration_lost;
    // Removes `node_id`'s members from `room_id` (own_leftovers: this node's previous run;
    // its members are disconnected, not removed); `done(ok)` once, whatever happens.
    std::function<void(const std::string& node_id, const std::string& room_id,
                       bool own_leftovers, std::function<void(bool ok)> done)>
        reap_room;
  };

  NodeLiveness(redis::RedisConnection& redis, std::string node_id, protocol::Millis dead_after,
               Hooks hooks, const RedisWriteCheck& writes, obs::Logger& logger);

  // Every dead_after / 3, and when the command connection (re)connects.
  void refresh();
  // Every sweep: reaps the registered nodes whose key expired.
  void find_dead_nodes();
  protocol::Millis refresh_interval() const;

 private:
  struct Reaping;
  void reap(const std::string& node_id);
  void reaped(const std::string& node_id, bool own_leftovers, bool all_ok);

  redis::RedisConnection& redis_;
  std::string node_id_;
  protocol::Millis dead_after_;
  Hooks hooks_;
  const RedisWriteCheck& writes_;
  obs::Logger& logger_;
  bool registered_ = false;
  std::set<std::string> reaping_;  // nodes whose members are being removed
};

}  // namespace tandem::cluster
