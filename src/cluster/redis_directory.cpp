#include "cluster/redis_directory.hpp"

#include "cluster/redis_keys.hpp"
#include "cluster/room_status.hpp"
#include "room/room_codec.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

namespace tandem::cluster {

namespace json = boost::json;
using protocol::Millis;

namespace {

// The room of an HMGET state v s reply, if it has members (a tombstone is no room).
std::optional<json::object> described(const redis::Reply& reply, Millis now) {
  if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[1].is_string()) {
    return std::nullopt;
  }
  auto state = room::room_state_from_json(reply.elements[1].str);
  if (!state || state->members.empty()) return std::nullopt;
  return describe_room(*state, now);
}

}  // namespace

// A page whose rooms are read one reply each; answered when the last one is in, in index order.
struct RedisDirectory::PageGather {
  RoomPage page;
  std::vector<std::optional<json::object>> rooms;
  std::size_t waiting = 0;
  std::function<void(RoomPage)> done;

  void room_read(std::size_t i, std::optional<json::object> room) {
    rooms[i] = std::move(room);
    if (--waiting > 0) return;
    for (auto& one : rooms) {
      if (one) page.rooms.push_back(std::move(*one));
    }
    done(std::move(page));
  }
};

// The nodes' descriptions, one GET each; answered when the last one is in.
struct RedisDirectory::NodesGather {
  json::array nodes;
  std::size_t waiting = 0;
  std::function<void(json::array)> done;

  void node_read(const redis::Reply& reply) {
    if (reply.is_string()) {
      boost::system::error_code ec;
      json::value v = json::parse(reply.str, ec);
      if (!ec && v.is_object()) nodes.push_back(std::move(v));
    }
    if (--waiting == 0) done(std::move(nodes));
  }
};

RedisDirectory::RedisDirectory(redis::RedisConnection& redis, std::function<Millis()> clock)
    : redis_(redis), clock_(std::move(clock)) {}

void RedisDirectory::room_status(const std::string& room_id,
                                 std::function<void(json::array)> done) {
  redis_.command({"HMGET", keys::room_state(room_id), "v", "s"},
                 [clock = clock_, done = std::move(done)](redis::Reply reply) {
                   json::array out;
                   if (auto room = described(reply, clock())) out.push_back(std::move(*room));
                   done(std::move(out));
                 });
}

void RedisDirectory::list_rooms(const std::string& after, std::size_t limit,
                                std::function<void(RoomPage)> done) {
  auto gather = std::make_shared<PageGather>();
  gather->done = std::move(done);
  // Replies come in command order: the count is in before the ids.
  redis_.command({"ZCARD", std::string(keys::kRoomIndex)}, [gather](redis::Reply count) {
    if (count.is_integer()) {
      gather->page.total = static_cast<std::size_t>(std::max<std::int64_t>(0, count.integer));
    }
  });
  redis_.command(
      {"ZRANGEBYLEX", std::string(keys::kRoomIndex), after.empty() ? "-" : "(" + after, "+",
       "LIMIT", "0", std::to_string(limit + 1)},
      [this, limit, gather](redis::Reply ids) {
        if (!ids.is_array() || ids.elements.empty()) {
          gather->done(std::move(gather->page));
          return;
        }
        const std::size_t n = std::min(ids.elements.size(), limit);
        if (n == 0) {  // limit 0: the total only
          gather->done(std::move(gather->page));
          return;
        }
        if (ids.elements.size() > limit) gather->page.next_cursor = ids.elements[n - 1].str;
        gather->rooms.resize(n);
        gather->waiting = n;
        for (std::size_t i = 0; i < n; ++i) {
          redis_.command({"HMGET", keys::room_state(ids.elements[i].str), "v", "s"},
                         [gather, i, clock = clock_](redis::Reply reply) {
                           gather->room_read(i, described(reply, clock()));
                         });
        }
      });
}

void RedisDirectory::nodes(std::function<void(json::array)> done) {
  redis_.command({"SMEMBERS", std::string(keys::kNodes)},
                 [this, done = std::move(done)](redis::Reply reply) mutable {
                   if (!reply.is_array() || reply.elements.empty()) {
                     done(json::array{});
                     return;
                   }
                   auto gather = std::make_shared<NodesGather>();
                   gather->waiting = reply.elements.size();
                   gather->done = std::move(done);
                   for (const auto& element : reply.elements) {
                     redis_.command({"GET", keys::node(element.str)},
                                    [gather](redis::Reply node) { gather->node_read(node); });
                   }
                 });
}

}  // namespace tandem::cluster
