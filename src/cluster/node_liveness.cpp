#include "cluster/node_liveness.hpp"

#include "cluster/redis_keys.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <memory>

namespace tandem::cluster {

using protocol::Millis;

// One dead node's rooms being reaped: done when the last room answered.
struct NodeLiveness::Reaping {
  std::string node_id;
  bool own_leftovers = false;
  std::size_t waiting = 0;
  bool all_ok = true;
};

NodeLiveness::NodeLiveness(redis::RedisConnection& redis, std::string node_id, Millis dead_after,
                           Hooks hooks, const RedisWriteCheck& writes, obs::Logger& logger)
    : redis_(redis),
      node_id_(std::move(node_id)),
      dead_after_(dead_after),
      hooks_(std::move(hooks)),
      writes_(writes),
      logger_(logger) {}

Millis NodeLiveness::refresh_interval() const { return std::max<Millis>(100, dead_after_ / 3); }

void NodeLiveness::refresh() {
  if (!redis_.connected()) return;
  redis_.command({"SADD", std::string(keys::kNodes), node_id_},
                 writes_.expect("node_register", node_id_));
  // GET: the key's previous value tells whether it had expired meanwhile.
  redis_.command({"SET", keys::node(node_id_), boost::json::serialize(hooks_.describe()), "PX",
                  std::to_string(dead_after_), "GET"},
                 [this](redis::Reply reply) {
                   if (reply.is_error()) {
                     writes_.expect("node_refresh", node_id_)(std::move(reply));
                     return;
                   }
                   const bool first = !registered_;
                   registered_ = true;
                   if (first) {
                     reap(node_id_);
                   } else if (reply.is_nil()) {
                     hooks_.registration_lost();
                   }
                 });
}

void NodeLiveness::find_dead_nodes() {
  if (!redis_.connected()) return;
  redis_.command({"SMEMBERS", std::string(keys::kNodes)}, [this](redis::Reply reply) {
    if (!reply.is_array()) return;  // a later sweep asks again
    for (const auto& element : reply.elements) {
      const std::string node = element.str;
      if (node == node_id_ || reaping_.count(node) > 0) continue;
      redis_.command({"EXISTS", keys::node(node)}, [this, node](redis::Reply exists) {
        if (exists.is_integer() && exists.integer == 0) reap(node);
      });
    }
  });
}

void NodeLiveness::reap(const std::string& node_id) {
  if (!reaping_.insert(node_id).second) return;
  const bool own_leftovers = node_id == node_id_;
  if (!own_leftovers) logger_.warn("node_dead", {{"node", node_id}});
  redis_.command({"SMEMBERS", keys::node_rooms(node_id)}, [this, node_id, own_leftovers](
                                                             redis::Reply reply) {
    if (!reply.is_array()) {
      reaping_.erase(node_id);  // a later sweep tries again
      return;
    }
    if (reply.elements.empty()) {
      reaped(node_id, own_leftovers, true);
      return;
    }
    auto reaping = std::make_shared<Reaping>();
    reaping->node_id = node_id;
    reaping->own_leftovers = own_leftovers;
    reaping->waiting = reply.elements.size();
    for (const auto& element : reply.elements) {
      hooks_.reap_room(node_id, element.str, own_leftovers, [this, reaping](bool ok) {
        reaping->all_ok = reaping->all_ok && ok;
        if (--reaping->waiting == 0) reaped(reaping->node_id, reaping->own_leftovers, reaping->all_ok);
      });
    }
  });
}

void NodeLiveness::reaped(const std::string& node_id, bool own_leftovers, bool all_ok) {
  reaping_.erase(node_id);
  if (!all_ok || own_leftovers) return;  // a room not reaped: the node stays registered
  redis_.command({"DEL", keys::node_rooms(node_id)}, writes_.expect("node_rooms_delete", node_id));
  redis_.command({"SREM", std::string(keys::kNodes), node_id},
                 writes_.expect("node_unregister", node_id));
  logger_.info("node_reaped", {{"node", node_id}});
}

}  // namespace tandem::cluster
