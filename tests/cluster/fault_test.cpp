// Cluster mode under faults: a node killed, Redis restarted empty, PostgreSQL stopped and
// started, and Redis losing rooms that only the durable record still has.
#include "cluster/cluster_fixture.hpp"
#include "store/postgres_server.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <csignal>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

constexpr Millis kDeadAfter{2000};  // NODE_DEAD_AFTER_MS of ClusterFixture::node_env
constexpr Millis kSweep{200};       // CLUSTER_SWEEP_MS

Millis since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

class FaultTest : public ClusterFixture {
 protected:
  // alice (host) on node 0, bob on node 1, carol on node 2.
  void party(const Env& extra = {}) {
    start_nodes(3, extra);
    alice = joined_on(0, "room", "alice", "Alice");
    bob = joined_on(1, "room", "bob", "Bob");
    alice->expect("USER_JOINED");
    carol = joined_on(2, "room", "carol", "Carol");
    alice->expect("USER_JOINED");
    bob->expect("USER_JOINED");
  }

  std::size_t audited(const std::string& url, const std::string& type) {
    return std::stoul(*PostgresServer::query(
        url, "SELECT count(*) FROM room_events WHERE event_type = '" + type + "'")[0][0]);
  }

  std::unique_ptr<WsClient> alice, bob, carol;
};

TEST_F(FaultTest, KilledNodesMembersLeaveWithinThePromisedTime) {
  party({{"RECONNECT_GRACE_MS", "60000"}});  // a grace far longer than the liveness limit
  const auto killed_at = Clock::now();
  server(0).signal(SIGKILL);
  // Survivors remove alice (the host) once node-0's liveness key expires, plus one sweep.
  // The promise (docs/CLUSTER.md): NODE_DEAD_AFTER_MS plus one sweep. 500 ms more for the
  // reap's own Redis round trips and the delivery, under sanitizers.
  const auto deadline = killed_at + kDeadAfter + kSweep + 500ms;
  for (auto* c : {bob.get(), carol.get()}) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    EXPECT_EQ(str(c->expect("HOST_CHANGED", std::max(left, Millis{0})), "hostUserId"), "bob");
    EXPECT_EQ(str(c->expect("USER_LEFT"), "userId"), "alice");
  }
  // Not before the key could have expired: the node refreshed it every third of the limit.
  EXPECT_GE(since(killed_at).count(), kDeadAfter.count() * 2 / 3 - 100)
      << "removed before node-0 was dead";
  bob->expect_no_message();
  carol->expect_no_message(50ms);
  // The others are undisturbed: the room works between nodes 1 and 2.
  bob->send_json(msg::play_pause("play", 8));
  EXPECT_EQ(str(carol->expect("PLAY_PAUSE"), "userId"), "bob");
  bob->expect("PLAY_PAUSE");
  const json::object room = arr(status_of(2, "room"), "rooms")[0].as_object();
  EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"bob", "carol"}));
  ASSERT_TRUE(eventually([&] { return arr(status_of(1, std::nullopt), "nodes").size() == 2; }));
  expect_server_healthy_at(1);
  expect_server_healthy_at(2);
}

TEST_F(FaultTest, AHostResumingOnAnotherNodeOutlivesItsDeadNode) {
  party({{"RECONNECT_GRACE_MS", "60000"}});
  server(0).signal(SIGKILL);  // alice's node dies; her page reconnects elsewhere at once
  ASSERT_TRUE(server(0).wait_exit(kTimeout));
  json::object state;
  auto alice2 = joined_on(2, "room", "alice", "Alice", std::nullopt, &state);
  EXPECT_EQ(str(state, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(str(bob->expect("USER_JOINED"), "userId"), "alice");
  EXPECT_EQ(str(carol->expect("USER_JOINED"), "userId"), "alice");
  // node-0 is found dead and reaped (unregistered once each of its rooms was checked)...
  ASSERT_TRUE(eventually(
      [&] { return redis.run({"SISMEMBER", "tandem:nodes", "node-0"}) == "0"; }, 10'000ms))
      << redis.run({"SMEMBERS", "tandem:nodes"});
  // ...but alice lives on node-2 now: nobody is told she left, nor that the host changed.
  bob->expect_no_message();
  carol->expect_no_message(50ms);
  alice2->expect_no_message(50ms);
  const json::object room = arr(status_of(1, "room"), "rooms")[0].as_object();
  EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(str(room, "hostUserId"), "alice");
  EXPECT_EQ(num(room, "connectionCount"), 3);
  alice2->send_json(msg::play_pause("play", 9));
  for (auto* c : {alice2.get(), bob.get(), carol.get()}) {
    EXPECT_EQ(str(c->expect("PLAY_PAUSE"), "userId"), "alice");
  }
  expect_server_healthy_at(1);
  expect_server_healthy_at(2);
}

TEST_F(FaultTest, AGateOpenedByADeadNodeStillTimesOut) {
  party({{"GATE_TIMEOUT_MS", "1000"}, {"RECONNECT_GRACE_MS", "60000"}});
  alice->send_json(msg::seek(77, true));
  bob->expect("SEEK_PAUSE");
  carol->expect("SEEK_PAUSE");
  server(0).signal(SIGKILL);  // the node that armed the gate's timer
  // Nobody sends READY: the surviving nodes' sweeps close the gate, exactly once.
  for (auto* c : {bob.get(), carol.get()}) {
    const json::object play = c->wait_for("PLAY_PAUSE", 5000ms);
    EXPECT_EQ(str(play, "userId"), "server");
    EXPECT_EQ(num(play, "currentTime"), 77);
  }
  bob->wait_for("USER_LEFT", 5000ms);
  carol->wait_for("USER_LEFT", 5000ms);
  bob->expect_no_message();
  carol->expect_no_message(50ms);
  const double timeouts = metric_of(1, "tandem_gate_outcomes_total", {{"outcome", "timeout"}}) +
                          metric_of(2, "tandem_gate_outcomes_total", {{"outcome", "timeout"}});
  EXPECT_EQ(timeouts, 1);
}

TEST_F(FaultTest, RedisRestartedEmptyNodesRecoverAndRoomsKeepWorking) {
  party();
  alice->send_json(msg::url_change("https://www.netflix.com/watch/80192098", 5));
  alice->expect("URL_CHANGE");
  bob->expect("URL_CHANGE");
  carol->expect("URL_CHANGE");

  redis.stop();  // no persistence: it comes back empty
  for (std::size_t node = 0; node < 3; ++node) EXPECT_TRUE(wait_ready(node, 503)) << node;
  // Clients stay connected; what needs Redis is refused with a clear error.
  alice->send_json(msg::play_pause("play", 6));
  const json::object refused = alice->expect("ERROR");
  EXPECT_EQ(str(refused, "code"), "INTERNAL");
  expect_alive(*alice);
  expect_alive(*bob);

  redis.start();
  for (std::size_t node = 0; node < 3; ++node) EXPECT_TRUE(wait_ready(node, 200)) << node;
  // The room comes back from the nodes' copies, members, host and URL included.
  alice->send_json(msg::play_pause("play", 7));
  for (auto* c : {alice.get(), bob.get(), carol.get()}) {
    const json::object play = c->expect("PLAY_PAUSE");
    EXPECT_EQ(str(play, "userId"), "alice");
  }
  carol->send_json(msg::request_sync());
  const json::object sync = carol->expect("SYNC_RESPONSE");
  EXPECT_EQ(flag(sync, "isPlaying"), true) << json::serialize(sync);
  const json::object room = arr(status_of(1, "room"), "rooms")[0].as_object();
  EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(str(room, "currentUrl"), "https://www.netflix.com/watch/80192098");
  EXPECT_EQ(str(room, "hostUserId"), "alice");
  // A newcomer on any node joins the same room.
  json::object state;
  auto dave = joined_on(2, "room", "dave", std::nullopt, std::nullopt, &state);
  EXPECT_EQ(user_ids(arr(state, "users")),
            (std::vector<std::string>{"alice", "bob", "carol", "dave"}));
  for (std::size_t node = 0; node < 3; ++node) expect_server_healthy_at(node);
}

// dave stays on carol's node: that node keeps its copy of the room, which re-creates it in
// the emptied Redis with every member as it was (a node left without a member of the room
// restores it from the durable record instead, each member in a fresh grace window).
TEST_F(FaultTest, AMemberWhoDisconnectsWhileRedisIsDownIsRemovedOnceRedisIsBack) {
  party({{"RECONNECT_GRACE_MS", "300"}});
  auto dave = joined_on(2, "room", "dave", "Dave");
  for (auto* c : {alice.get(), bob.get(), carol.get()}) c->expect("USER_JOINED");
  redis.stop();  // no persistence: it comes back empty
  for (std::size_t node = 0; node < 3; ++node) ASSERT_TRUE(wait_ready(node, 503)) << node;
  carol->close();  // node 2 sees the disconnect, and her grace runs out, while Redis is down
  ASSERT_TRUE(eventually([&] { return metric_of(2, "tandem_connections") == 1; }))
      << metrics_text_of(2);
  alice->expect_no_message(600ms);  // twice the grace: nothing can be announced yet
  bob->expect_no_message(50ms);
  dave->expect_no_message(50ms);

  redis.start();
  for (std::size_t node = 0; node < 3; ++node) EXPECT_TRUE(wait_ready(node, 200)) << node;
  // The disconnect was not forgotten: carol leaves, once, for everyone left.
  for (auto* c : {alice.get(), bob.get(), dave.get()}) {
    EXPECT_EQ(str(c->expect("USER_LEFT", 5000ms), "userId"), "carol");
  }
  alice->expect_no_message();
  bob->expect_no_message(50ms);
  dave->expect_no_message(50ms);
  for (std::size_t node = 0; node < 3; ++node) {
    const json::object room = arr(status_of(node, "room"), "rooms")[0].as_object();
    EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"alice", "bob", "dave"}))
        << node;
    EXPECT_EQ(str(room, "hostUserId"), "alice") << node;
  }
  alice->send_json(msg::play_pause("play", 4));
  for (auto* c : {alice.get(), bob.get(), dave.get()}) {
    EXPECT_EQ(str(c->expect("PLAY_PAUSE"), "userId"), "alice");
  }
  for (std::size_t node = 0; node < 3; ++node) expect_server_healthy_at(node);
}

TEST_F(FaultTest, PostgresStoppedAndStartedLosesNoEvent) {
  PostgresServer postgres;
  const std::string url = postgres.create_database();
  party({{"DATABASE_URL", url}, {"RATE_LIMIT_PER_SEC", "1000"}});
  alice->send_json(msg::toggle_guest_control(true));
  for (auto* c : {alice.get(), bob.get(), carol.get()}) c->expect("GUEST_CONTROL");
  ASSERT_TRUE(eventually([&] { return audited(url, "GUEST_CONTROL") == 1; }));

  postgres.stop();
  // Every member, on every node, changes playback while the database is down.
  constexpr int rounds = 20;
  std::vector<WsClient*> members{alice.get(), bob.get(), carol.get()};
  for (int i = 0; i < rounds; ++i) {
    WsClient* sender = members[static_cast<std::size_t>(i) % 3];
    sender->send_json(msg::play_pause(i % 2 == 0 ? "play" : "pause", i));
    for (auto* c : members) c->expect("PLAY_PAUSE");
  }
  postgres.start();
  ASSERT_TRUE(eventually([&] { return audited(url, "PLAY_PAUSE") == rounds; }, 30'000ms))
      << audited(url, "PLAY_PAUSE") << " of " << rounds;
  // Each node wrote its own members' events, each exactly once.
  const auto by_user = PostgresServer::query(
      url, "SELECT user_id, count(*) FROM room_events WHERE event_type = 'PLAY_PAUSE' "
           "GROUP BY user_id ORDER BY user_id");
  ASSERT_EQ(by_user.size(), 3u);
  EXPECT_EQ(*by_user[0][0], "alice");
  EXPECT_EQ(std::stoi(*by_user[0][1]), 7);
  EXPECT_EQ(std::stoi(*by_user[1][1]), 7);
  EXPECT_EQ(std::stoi(*by_user[2][1]), 6);
}

TEST_F(FaultTest, ARoomRedisLostIsRestoredFromPostgresOnNextAccess) {
  PostgresServer postgres;
  const std::string url = postgres.create_database();
  const Env env{{"DATABASE_URL", url}, {"RECONNECT_GRACE_MS", "1500"}};
  start_nodes(1, env);
  alice = joined_on(0, "room", "alice", "Alice", std::string("2468"));
  alice->send_json(msg::url_change("https://www.netflix.com/watch/70143836", 42));
  alice->expect("URL_CHANGE");
  ASSERT_TRUE(eventually([&] {
    const auto rows = PostgresServer::query(url, "SELECT current_url FROM rooms WHERE id = 'room'");
    return rows.size() == 1 && rows[0][0] == "https://www.netflix.com/watch/70143836";
  }));

  // Every node that knew the room goes, and Redis restarts empty.
  server(0).signal(SIGKILL);
  ASSERT_TRUE(server(0).wait_exit(kTimeout));
  redis.stop();
  redis.start();
  start_nodes(1, env);  // node-1: never saw the room

  auto stranger = connect("stranger", 1);
  stranger->send_json(msg::join("room", "mallory"));
  EXPECT_EQ(str(stranger->expect("ERROR"), "code"), "PIN_REQUIRED") << "the PIN came back too";
  json::object state;
  bob = joined_on(1, "room", "bob", "Bob", std::string("2468"), &state);
  EXPECT_EQ(str(state, "url"), "https://www.netflix.com/watch/70143836");
  EXPECT_EQ(str(state, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob"}));
  const json::object room = arr(status_of(1, "room"), "rooms")[0].as_object();
  EXPECT_EQ(str(arr(room, "users")[0].as_object(), "connectionQuality"), "reconnecting");
  // alice had a grace period from the restore; she does not come back.
  EXPECT_EQ(str(bob->expect("HOST_CHANGED", 5000ms), "hostUserId"), "bob");
  EXPECT_EQ(str(bob->expect("USER_LEFT"), "userId"), "alice");
  EXPECT_EQ(metric_of(1, "tandem_cluster_rooms_restored_total"), 1);
}

}  // namespace
}  // namespace tandem::test
