// Many clients at once: concurrent joins into one room (exactly one host, every USER_JOINED
// exactly once, in join order), concurrent rooms that never see each other's traffic, and
// churn that leaves consistent rooms behind.
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <exception>
#include <functional>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class ConcurrencyTest : public TandemTest {};

TEST_F(ConcurrencyTest, FortyClientsJoinOneRoomAtOnce) {
  start_server();
  constexpr int n = 40;
  std::vector<std::unique_ptr<WsClient>> clients(n);
  for (int i = 0; i < n; ++i) clients[i] = connect(std::string("c").append(std::to_string(i)));
  std::vector<json::object> states(n);
  run_parallel(n, [&](int i) {
    states[i] = join(*clients[i], "crowd", "user" + std::to_string(i), "User " + std::to_string(i));
  });
  ASSERT_FALSE(HasFailure());

  // The join order, as the server saw it.
  const json::object room = room_status("crowd");
  const std::vector<std::string> order = user_ids(arr(room, "users"));
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n)) << json::serialize(room);
  EXPECT_EQ(std::set<std::string>(order.begin(), order.end()).size(), order.size());
  EXPECT_EQ(num(room, "connectionCount"), n);
  EXPECT_EQ(str(room, "hostUserId"), order[0]);

  std::map<std::string, std::size_t> position;
  for (std::size_t p = 0; p < order.size(); ++p) position[order[p]] = p;
  std::map<std::string, std::set<std::string>> peer_ids;  // userId -> peerIds seen
  for (int i = 0; i < n; ++i) {
    const std::string me = "user" + std::to_string(i);
    const std::size_t p = position.at(me);
    // Exactly one host, the same for everyone: the first joiner.
    EXPECT_EQ(str(states[i], "hostUserId"), order[0]) << me;
    // Its ROOM_STATE lists everyone who joined before it, then itself.
    EXPECT_EQ(user_ids(arr(states[i], "users")),
              std::vector<std::string>(order.begin(), order.begin() + static_cast<long>(p) + 1))
        << me;
    // USER_JOINED for each later joiner, exactly once, in join order.
    for (std::size_t q = p + 1; q < order.size(); ++q) {
      const json::object joined_msg = clients[i]->expect("USER_JOINED");
      EXPECT_EQ(str(joined_msg, "userId"), order[q]) << "seen by " << me;
      peer_ids[order[q]].insert(str(joined_msg, "peerId"));
    }
  }
  clients[0]->expect_no_message();
  for (int i = 1; i < n; ++i) clients[i]->expect_no_message(20ms);
  // Every recipient saw the same peerId for a given joiner.
  for (const auto& [user, ids] : peer_ids) {
    EXPECT_EQ(ids.size(), 1u) << user;
    EXPECT_TRUE(is_uuid_v4(*ids.begin())) << user;
  }
  EXPECT_EQ(metric("tandem_messages_out_total", {{"type", "USER_JOINED"}}), n * (n - 1) / 2);
  expect_server_healthy();
}

TEST_F(ConcurrencyTest, ConcurrentRoomsNeverSeeEachOther) {
  start_server({{"RATE_LIMIT_PER_SEC", "10000"}, {"RATE_LIMIT_BURST", "10000"}});
  constexpr int rooms = 8;
  constexpr int per_room = 5;
  constexpr int messages = 10;
  constexpr int n = rooms * per_room;
  std::vector<std::unique_ptr<WsClient>> clients(n);
  for (int i = 0; i < n; ++i) clients[i] = connect(std::string("c").append(std::to_string(i)));
  const auto room_of = [](int i) { return "room-" + std::to_string(i % rooms); };
  run_parallel(n, [&](int i) { join(*clients[i], room_of(i), "user" + std::to_string(i)); });
  ASSERT_FALSE(HasFailure());
  run_parallel(n, [&](int i) {
    for (int k = 0; k < messages; ++k) {
      clients[i]->send_json(msg::custom("PLAYBACK_ACK", {{"room", room_of(i)}, {"k", k}}));
    }
  });
  ASSERT_FALSE(HasFailure());
  // Everyone gets exactly its room's broadcasts: per_room senders x messages, each sender's
  // in order; besides them only USER_JOINED of its own room.
  run_parallel(n, [&](int i) {
    std::map<std::string, int> next_k;  // sender -> next k
    int got = 0;
    while (got < per_room * messages) {
      const json::object m = clients[i]->next();
      if (type_of(m) == "USER_JOINED") continue;
      if (type_of(m) != "PLAYBACK_ACK")
        throw std::runtime_error("unexpected " + json::serialize(m));
      if (str(m, "room") != room_of(i)) {
        throw std::runtime_error("client " + std::to_string(i) + " in " + room_of(i) + " got " +
                                 json::serialize(m));
      }
      const int k = static_cast<int>(int_of(m, "k"));
      if (k != next_k[str(m, "userId")]++)
        throw std::runtime_error("out of order: " + json::serialize(m));
      ++got;
    }
    clients[i]->expect_no_message(200ms, {"USER_JOINED"});
  });
  const json::object all = status();
  EXPECT_EQ(arr(all, "rooms").size(), static_cast<std::size_t>(rooms));
  for (const auto& r : arr(all, "rooms")) {
    const json::object& room = r.as_object();
    EXPECT_EQ(arr(room, "users").size(), static_cast<std::size_t>(per_room))
        << json::serialize(room);
    const auto ids = user_ids(arr(room, "users"));
    EXPECT_NE(std::find(ids.begin(), ids.end(), str(room, "hostUserId")), ids.end());
  }
  expect_server_healthy();
}

TEST_F(ConcurrencyTest, ChurnLeavesConsistentRooms) {
  start_server({{"RECONNECT_GRACE_MS", "0"},
                {"RATE_LIMIT_PER_SEC", "10000"},
                {"RATE_LIMIT_BURST", "10000"}});
  constexpr int n = 20;
  constexpr int rounds = 15;
  const std::vector<std::string> rooms = {"a", "b", "c"};
  run_parallel(n, [&](int i) {
    std::mt19937 rng(static_cast<unsigned>(i * 7919 + 1));
    const std::string user = "churner" + std::to_string(i);
    for (int r = 0; r < rounds; ++r) {
      WsClient client(user);
      if (!client.connect(port()).ok) throw std::runtime_error("connect failed");
      const std::string room = rooms[rng() % rooms.size()];
      client.send_json(msg::join(room, user));
      client.wait_for("ROOM_STATE");
      client.send_json(msg::play_pause(rng() % 2 ? "play" : "pause", rng() % 100));
      client.send_json(msg::custom("PLAYBACK_ACK", {{"r", r}}));
      switch (rng() % 3) {
        case 0:
          client.send_json(msg::leave());
          client.wait_closed();
          break;
        case 1:
          client.drop();
          break;
        default:
          client.send_json(msg::join(rooms[rng() % rooms.size()], user));  // move
          client.wait_for("ROOM_STATE");
          client.close();
          break;
      }
    }
  });
  ASSERT_FALSE(HasFailure());
  // Every connection is gone and grace is 0: the rooms empty out and are archived.
  const bool empty = eventually([&] {
    const json::object all = status();
    return arr(all, "rooms").empty() && num(all, "localConnections") == 0;
  });
  EXPECT_TRUE(empty) << json::serialize(status());
  expect_server_healthy();
}

TEST_F(ConcurrencyTest, ConcurrentHostChangesKeepExactlyOneHost) {
  start_server({{"RECONNECT_GRACE_MS", "0"}});
  constexpr int n = 12;
  std::vector<std::unique_ptr<WsClient>> clients(n);
  for (int i = 0; i < n; ++i) {
    clients[i] = joined("room", "user" + std::to_string(i));
  }
  // Half of them leave at the same moment, the host among them.
  run_parallel(n / 2, [&](int i) {
    clients[i]->send_json(msg::leave());
    clients[i]->wait_closed();
  });
  ASSERT_FALSE(HasFailure());
  const json::object room = room_status("room");
  const auto ids = user_ids(arr(room, "users"));
  std::vector<std::string> expected;
  for (int i = n / 2; i < n; ++i) expected.push_back("user" + std::to_string(i));
  EXPECT_EQ(ids, expected);
  // The earliest remaining is host, and every remaining member's last HOST_CHANGED says so.
  EXPECT_EQ(str(room, "hostUserId"), "user" + std::to_string(n / 2));
  for (int i = n / 2; i < n; ++i) {
    std::string last_host;
    for (;;) {
      const WsEvent event = clients[i]->recv_event(i == n / 2 ? kQuiet : 20ms);
      if (event.kind == WsEvent::Kind::timeout) break;
      ASSERT_EQ(event.kind, WsEvent::Kind::message);
      if (type_of(*event.message) == "HOST_CHANGED") last_host = str(*event.message, "hostUserId");
    }
    EXPECT_EQ(last_host, "user" + std::to_string(n / 2)) << "user" << i;
  }
  expect_server_healthy();
}

}  // namespace
}  // namespace tandem::test
