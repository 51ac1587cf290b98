// RedisRooms against a real redis-server, with one of the node's two connections behind a
// proxy that holds back what Redis sends by 300 ms, so that a commit's reply (command
// connection) and its message on the room's channel (subscriber connection) arrive in the
// order under test; a loaded node sees either now and then.
// - Reply first: a JOIN refused in a room that its commit changed (re-created from the
//   durable record) is answered through the message; its ERROR must still reach the
//   connection although the node holds no member of the room.
// - Message first: a LEAVE's own transition must not be delivered to the leaver.
#include "cluster/redis_keys.hpp"
#include "cluster/redis_rooms.hpp"
#include "protocol/command.hpp"
#include "redis/redis_test_util.hpp"
#include "room/pin_hasher.hpp"
#include "room/room_machine.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tandem::test {
namespace {

using tcp = asio::ip::tcp;

// Accepts on a free loopback port and relays each connection to `upstream_port`; bytes
// from upstream wait `lag` before they are passed on (in order: one chunk at a time).
class LaggingProxy {
 public:
  LaggingProxy(asio::io_context& io, std::uint16_t upstream_port, std::chrono::milliseconds lag)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        upstream_port_(upstream_port), lag_(lag) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Pair {
    explicit Pair(asio::io_context& io) : client(io), upstream(io), timer(io) {}
    tcp::socket client;
    tcp::socket upstream;
    asio::steady_timer timer;
    std::array<char, 16384> up{};
    std::array<char, 16384> down{};
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto pair = std::make_shared<Pair>(io_);
      pair->client = std::move(socket);
      boost::system::error_code connect_ec;
      pair->upstream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), upstream_port_),
                             connect_ec);
      if (!connect_ec) {
        client_to_upstream(pair);
        upstream_to_client(pair);
      }
      accept();
    });
  }
  static void close(const std::shared_ptr<Pair>& pair) {
    boost::system::error_code ignored;
    pair->client.close(ignored);
    pair->upstream.close(ignored);
  }
  void client_to_upstream(std::shared_ptr<Pair> pair) {
    pair->client.async_read_some(asio::buffer(pair->up), [this, pair](auto ec, std::size_t n) {
      if (ec) return close(pair);
      asio::async_write(pair->upstream, asio::buffer(pair->up.data(), n),
                        [this, pair](auto write_ec, std::size_t) {
                          if (write_ec) return close(pair);
                          client_to_upstream(pair);
                        });
    });
  }
  void upstream_to_client(std::shared_ptr<Pair> pair) {
    pair->upstream.async_read_some(asio::buffer(pair->down), [this, pair](auto ec, std::size_t n) {
      if (ec) return close(pair);
      pair->timer.expires_after(lag_);
      pair->timer.async_wait([this, pair, n](auto) {
        asio::async_write(pair->client, asio::buffer(pair->down.data(), n),
                          [this, pair](auto write_ec, std::size_t) {
                            if (write_ec) return close(pair);
                            upstream_to_client(pair);
                          });
      });
    });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::uint16_t upstream_port_;
  std::chrono::milliseconds lag_;
};

class PlainPins final : public room::PinHasher {
 public:
  std::string hash(std::string_view pin) const override { return std::string(pin); }
  bool verify(std::string_view pin, std::string_view encoded) const override {
    return pin == encoded;
  }
};

struct RecordingOutbox final : cluster::Outbox {
  void send(cluster::ConnId conn, const protocol::Frame& frame) override {
    frames[conn].push_back(*frame);
  }
  void close(cluster::ConnId conn, std::uint16_t code, std::string_view) override {
    closed.emplace(conn, code);
  }
  std::map<cluster::ConnId, std::vector<std::string>> frames;
  std::map<cluster::ConnId, std::uint16_t> closed;
};

// One node: RedisRooms with plain PINs and a recording outbox, started and connected.
struct Node {
  explicit Node(Loop& loop, cluster::RedisRoomsOptions options)
      : rooms(loop.executor(), outbox, machine, registry, logger, std::move(options),
              [] { return protocol::Millis{1'764'254'400'000}; }) {
    rooms.start();
    EXPECT_TRUE(loop.run_until([&] { return rooms.backends_ready(); }));
  }
  ~Node() { rooms.stop(); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  PlainPins pins;
  const room::RoomMachine machine{room::RoomConfig{}, pins};
  obs::Registry registry;
  obs::Logger logger{"node-1", obs::Level::error, stderr};
  RecordingOutbox outbox;
  cluster::RedisRooms rooms;
};

// Node-1's options on `redis`, with one of its two connections through `proxy`.
enum class Lags { messages, replies };
cluster::RedisRoomsOptions lagging_options(const RedisServer& redis, const LaggingProxy& proxy,
                                           Lags lags) {
  cluster::RedisRoomsOptions options;
  options.node_id = "node-1";
  options.redis = config_for(redis);
  options.subscriber_redis = options.redis;
  (lags == Lags::messages ? *options.subscriber_redis : options.redis).port = proxy.port();
  return options;
}

TEST(RedisRoomsChannel, ARefusalCommittedWhileTheChannelLagsStillReachesItsSender) {
  RedisServer redis;
  redis.start();
  Loop loop;
  LaggingProxy proxy(loop.io, redis.port(), 300ms);

  // The durable record holds a room with a PIN whose member was on a node that is gone;
  // Redis has never seen it.
  room::RoomState record;
  record.id = "room";
  record.host_user_id = "alice";
  record.pin_hash = "2468";
  room::Member alice;
  alice.user_id = "alice";
  alice.peer_id = "peer-alice";
  alice.node_id = "node-0";
  alice.join_seq = 1;
  record.members.push_back(alice);
  record.next_seq = 2;
  record.version = 7;

  cluster::RedisRoomsOptions options = lagging_options(redis, proxy, Lags::messages);
  options.load_from_record = [record](std::string room_id, auto done) {
    done(room_id == record.id ? std::optional<room::RoomState>(record) : std::nullopt);
  };
  Node node(loop, options);
  auto& rooms = node.rooms;
  auto& outbox = node.outbox;

  const cluster::ConnectionInfo stranger{1, "peer-stranger", "127.0.0.1"};
  rooms.on_command(stranger, protocol::Command{protocol::Join{"room", "mallory", "Mallory",
                                                              std::nullopt}});
  ASSERT_TRUE(loop.run_until([&] { return !outbox.frames[1].empty(); }, 5s))
      << "the JOIN was never answered";
  EXPECT_NE(outbox.frames[1][0].find("PIN_REQUIRED"), std::string::npos) << outbox.frames[1][0];
  EXPECT_GT(std::stoll(redis.run({"HGET", cluster::keys::room_state("room"), "v"})), 7)
      << "re-created from the record";
}

TEST(RedisRoomsChannel, TheLeaverGetsNothingAfterItsLeaveWhenTheMessageComesFirst) {
  RedisServer redis;
  redis.start();
  Loop loop;
  LaggingProxy proxy(loop.io, redis.port(), 300ms);

  Node node(loop, lagging_options(redis, proxy, Lags::replies));
  auto& rooms = node.rooms;
  auto& outbox = node.outbox;

  const cluster::ConnectionInfo alice{1, "peer-alice", "127.0.0.1"};
  const cluster::ConnectionInfo bob{2, "peer-bob", "127.0.0.1"};
  rooms.on_command(alice, protocol::Command{protocol::Join{"room", "alice", "Alice", std::nullopt}});
  ASSERT_TRUE(loop.run_until([&] { return !outbox.frames[1].empty(); }, 5s));
  rooms.on_command(bob, protocol::Command{protocol::Join{"room", "bob", "Bob", std::nullopt}});
  ASSERT_TRUE(loop.run_until([&] { return outbox.frames[1].size() == 2; }, 5s))
      << "alice sees bob join";
  ASSERT_NE(outbox.frames[1][1].find("USER_JOINED"), std::string::npos) << outbox.frames[1][1];

  rooms.on_command(alice, protocol::Command{protocol::Leave{}});
  ASSERT_TRUE(loop.run_until([&] {
    return outbox.closed.contains(1) && outbox.frames[2].size() >= 3;  // ROOM_STATE, HOST_CHANGED, USER_LEFT
  }, 5s));
  EXPECT_EQ(outbox.closed[1], 1000);
  // The LEAVE's operation ends when its lagging reply is in: nothing may reach alice by then.
  ASSERT_TRUE(loop.run_until([&] { return rooms.idle(); }, 5s));
  EXPECT_EQ(outbox.frames[1].size(), 2U) << "after its LEAVE the leaver got: " << outbox.frames[1].back();
  EXPECT_FALSE(outbox.closed.contains(2));
}

// A JOIN's reply may come back before the channel messages of the transitions before it
// (here the subscriber lags): the joiner still gets its own ROOM_STATE first, nothing of the
// room before it, and everything after it.
TEST(RedisRoomsChannel, AJoinerGetsItsRoomStateFirstWhenTheReplyComesFirst) {
  RedisServer redis;
  redis.start();
  Loop loop;
  LaggingProxy proxy(loop.io, redis.port(), 300ms);

  Node node(loop, lagging_options(redis, proxy, Lags::messages));
  auto& rooms = node.rooms;
  auto& outbox = node.outbox;

  const cluster::ConnectionInfo carol{1, "peer-carol", "127.0.0.1"};
  const cluster::ConnectionInfo alice{2, "peer-alice", "127.0.0.1"};
  const cluster::ConnectionInfo bob{3, "peer-bob", "127.0.0.1"};
  const cluster::ConnectionInfo dave{4, "peer-dave", "127.0.0.1"};
  const auto join = [&](const cluster::ConnectionInfo& conn, const std::string& user) {
    rooms.on_command(conn, protocol::Command{protocol::Join{"room", user, user, std::nullopt}});
  };
  join(carol, "carol");
  ASSERT_TRUE(loop.run_until([&] { return !outbox.frames[1].empty(); }, 5s));
  // Alice's USER_JOINED goes to everyone but alice; bob's JOIN commits right after hers,
  // and its reply is back long before her message.
  join(alice, "alice");
  join(bob, "bob");
  ASSERT_TRUE(loop.run_until([&] { return !outbox.frames[3].empty(); }, 5s));
  EXPECT_NE(outbox.frames[3][0].find("ROOM_STATE"), std::string::npos)
      << "bob's first frame: " << outbox.frames[3][0];
  join(dave, "dave");
  ASSERT_TRUE(loop.run_until([&] { return outbox.frames[3].size() >= 2; }, 5s));
  EXPECT_NE(outbox.frames[3][1].find("USER_JOINED"), std::string::npos) << outbox.frames[3][1];
  EXPECT_NE(outbox.frames[3][1].find("dave"), std::string::npos) << outbox.frames[3][1];
  ASSERT_TRUE(loop.run_until([&] { return rooms.idle(); }, 5s));
  EXPECT_EQ(outbox.frames[1].size(), 4U) << "carol sees alice, bob and dave join";
  EXPECT_EQ(outbox.frames[3].size(), 2U) << "bob got also: " << outbox.frames[3].back();
}

}  // namespace
}  // namespace tandem::test
