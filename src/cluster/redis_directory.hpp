#pragma once
// Cluster mode's answers to /status: one room, a page of the room index, the live nodes.
// Read from Redis (the room index sorted set, each room's snapshot, each node's liveness
// key); standalone answers the same questions from memory (LocalRooms). Replies that fail
// leave their part out of the answer (a /status page is a best-effort view).
//
// Destroyed with the RedisConnection it reads through (RedisRooms owns both): a callback
// runs only while both exist (the connection calls nothing after its destructor).
#include "cluster/rooms.hpp"
#include "redis/redis_connection.hpp"

#include <functional>
#include <string>

namespace tandem::cluster {

class RedisDirectory {
 public:
  RedisDirectory(redis::RedisConnection& redis, std::function<protocol::Millis()> clock);

  void room_status(const std::string& room_id, std::function<void(boost::json::array)> done);
  // One page of the room index in id order (ZRANGEBYLEX, O(log N + limit)): the ids after
  // `after` (one more than the page, to know whether more follow), then each room's state.
  void list_rooms(const std::string& after, std::size_t limit, std::function<void(RoomPage)> done);
  // The description each live node keeps in its liveness key (NodeLiveness).
  void nodes(std::function<void(boost::json::array)> done);

 private:
  struct PageGather;
  struct NodesGather;

  redis::RedisConnection& redis_;
  std::function<protocol::Millis()> clock_;
};

}  // namespace tandem::cluster
