// Cluster mode end to end: three real tandem-server nodes on one real redis-server, clients
// spread across them. A room must behave exactly as on one node: every broadcast exactly
// once, relays to a target on another node, the ready gate with READYs from several
// nodes, host election, guest control, transfer, resume on a different node.
#include "cluster/cluster_fixture.hpp"

#include <boost/json/serialize.hpp>

#include <map>
#include <set>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class ClusterTest : public ClusterFixture {
 protected:
  // alice (host) on node 0, bob on node 1, carol on node 2, every USER_JOINED consumed.
  void party(const Env& extra = {}) {
    start_nodes(3, extra);
    alice = joined_on(0, "room", "alice", "Alice");
    bob = joined_on(1, "room", "bob", "Bob");
    EXPECT_EQ(str(alice->expect("USER_JOINED"), "userId"), "bob");
    carol = joined_on(2, "room", "carol", "Carol");
    EXPECT_EQ(str(alice->expect("USER_JOINED"), "userId"), "carol");
    EXPECT_EQ(str(bob->expect("USER_JOINED"), "userId"), "carol");
  }

  // Everyone gets the same message once (strict), identical bytes; returns it.
  json::object all_get(std::string_view type) {
    json::object first = alice->expect(type);
    EXPECT_EQ(json::serialize(bob->expect(type)), json::serialize(first));
    EXPECT_EQ(json::serialize(carol->expect(type)), json::serialize(first));
    return first;
  }
  void nobody_gets_anything(Millis window = kQuiet) {
    alice->expect_no_message(window);
    bob->expect_no_message(50ms);
    carol->expect_no_message(50ms);
  }

  std::unique_ptr<WsClient> alice, bob, carol;
};

TEST_F(ClusterTest, JoinsOnThreeNodesSeeEachOtherExactlyOnce) {
  start_nodes(3);
  json::object state;
  auto a = joined_on(0, "room", "alice", "Alice", std::nullopt, &state);
  EXPECT_EQ(str(state, "hostUserId"), "alice");
  auto b = joined_on(1, "room", "bob", "Bob", std::nullopt, &state);
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(str(state, "hostUserId"), "alice");
  EXPECT_EQ(str(state, "nodeId"), "node-1");
  const json::object bob_joined = a->expect("USER_JOINED");
  EXPECT_EQ(str(bob_joined, "userId"), "bob");
  EXPECT_EQ(str(bob_joined, "username"), "Bob");
  EXPECT_TRUE(is_uuid_v4(str(bob_joined, "peerId")));

  auto c = joined_on(2, "room", "carol", "Carol", std::nullopt, &state);
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(str(a->expect("USER_JOINED"), "userId"), "carol");
  EXPECT_EQ(str(b->expect("USER_JOINED"), "userId"), "carol");
  a->expect_no_message();
  b->expect_no_message(50ms);
  c->expect_no_message(50ms);

  // Any node reports the whole room, and the node list.
  for (std::size_t node = 0; node < 3; ++node) {
    const json::object room = status_of(node, "room");
    ASSERT_EQ(arr(room, "rooms").size(), 1u) << json::serialize(room);
    const json::object& r = arr(room, "rooms")[0].as_object();
    EXPECT_EQ(user_ids(arr(r, "users")), (std::vector<std::string>{"alice", "bob", "carol"}));
    EXPECT_EQ(num(r, "connectionCount"), 3);
    EXPECT_EQ(str(r, "hostUserId"), "alice");
  }
  const json::object all = status_of(1, std::nullopt);
  std::set<std::string> nodes;
  for (const auto& n : arr(all, "nodes")) nodes.insert(str(n.as_object(), "nodeId"));
  EXPECT_EQ(nodes, (std::set<std::string>{"node-0", "node-1", "node-2"})) << json::serialize(all);
  ASSERT_EQ(arr(all, "rooms").size(), 1u);
  for (std::size_t node = 0; node < 3; ++node) expect_server_healthy_at(node);
}

TEST_F(ClusterTest, EveryBroadcastReachesEveryMemberExactlyOnce) {
  party();
  alice->send_json(msg::play_pause("play", 10));
  EXPECT_EQ(str(all_get("PLAY_PAUSE"), "userId"), "alice");
  alice->send_json(msg::toggle_guest_control(true));
  EXPECT_EQ(flag(all_get("GUEST_CONTROL"), "enabled"), true);
  // A guest on another node controls playback now.
  carol->send_json(msg::play_pause("pause", 20));
  EXPECT_EQ(str(all_get("PLAY_PAUSE"), "userId"), "carol");
  bob->send_json(msg::url_change("https://www.netflix.com/watch/80192098", 0));
  EXPECT_EQ(str(all_get("URL_CHANGE"), "url"), "https://www.netflix.com/watch/80192098");
  bob->send_json(msg::update_username("Robert"));
  EXPECT_EQ(str(all_get("USERNAME_UPDATED"), "username"), "Robert");
  alice->send_json(msg::host_heartbeat(33, true));
  all_get("HOST_HEARTBEAT");
  nobody_gets_anything();

  // Each frame was sent once per member: the three nodes together.
  double play_pause = 0;
  for (std::size_t node = 0; node < 3; ++node) {
    play_pause += metric_of(node, "tandem_messages_out_total", {{"type", "PLAY_PAUSE"}});
  }
  EXPECT_EQ(play_pause, 6);
  const json::object room = status_of(2, "room");
  const json::object& r = arr(room, "rooms")[0].as_object();
  EXPECT_EQ(str(r, "currentUrl"), "https://www.netflix.com/watch/80192098");
}

TEST_F(ClusterTest, GuestWithoutControlIsRefusedOnItsOwnNode) {
  party();
  bob->send_json(msg::play_pause("play", 1));
  EXPECT_EQ(str(bob->expect("ERROR"), "code"), "FORBIDDEN");
  nobody_gets_anything();
}

TEST_F(ClusterTest, RelaysReachOnlyTheirTargetOnAnotherNode) {
  party();
  json::object offer = client_example("OFFER");
  offer["to"] = "carol";
  alice->send_json(offer);
  const json::object got = carol->expect("OFFER");
  EXPECT_EQ(str(got, "from"), "alice");
  EXPECT_EQ(str(obj(got, "offer"), "sdp"), str(obj(client_example("OFFER"), "offer"), "sdp"));
  json::object answer = client_example("ANSWER");
  answer["to"] = "alice";
  carol->send_json(answer);
  EXPECT_EQ(str(alice->expect("ANSWER"), "from"), "carol");
  json::object ice = client_example("ICE_CANDIDATE");
  ice["to"] = "bob";
  carol->send_json(ice);
  EXPECT_EQ(str(bob->expect("ICE_CANDIDATE"), "from"), "carol");
  nobody_gets_anything();

  // Many in a row keep their order across nodes.
  for (int i = 0; i < 50; ++i) {
    bob->send_json(msg::ice_candidate("alice", json::object{{"candidate", std::to_string(i)}}));
  }
  for (int i = 0; i < 50; ++i) {
    const json::object c = alice->expect("ICE_CANDIDATE");
    EXPECT_EQ(str(obj(c, "candidate"), "candidate"), std::to_string(i));
  }
  // A fallback broadcast (unknown type) reaches everyone, the sender included.
  carol->send_json(msg::custom("REACTION", {{"emoji", "popcorn"}}));
  EXPECT_EQ(str(all_get("REACTION"), "userId"), "carol");
  nobody_gets_anything();
}

TEST_F(ClusterTest, RelaysWithAForgedIdentityCarryTheRealSenderAcrossNodes) {
  party();
  struct Case {
    std::string type;
    WsClient* sender;
    std::string sender_id, sender_node, forged;
    WsClient* receiver;
    std::string to;
  };
  const std::vector<Case> cases{
      {"OFFER", alice.get(), "alice", "node-0", "bob", carol.get(), "carol"},
      {"ANSWER", carol.get(), "carol", "node-2", "alice", alice.get(), "alice"},
      {"ICE_CANDIDATE", bob.get(), "bob", "node-1", "carol", alice.get(), "alice"}};
  for (const Case& c : cases) {
    json::object sent = client_example(c.type);
    sent["to"] = c.to;
    sent["from"] = c.forged;
    sent["userId"] = c.forged;  // the client reads userId first
    sent["fromUserId"] = c.forged;
    sent["nodeId"] = "evil-node";
    c.sender->send_json(sent);
    const json::object got = c.receiver->expect(c.type);
    EXPECT_EQ(str(got, "from"), c.sender_id) << c.type;
    EXPECT_EQ(str(got, "userId"), c.sender_id) << c.type;
    EXPECT_EQ(str(got, "fromUserId"), c.sender_id) << c.type;
    EXPECT_EQ(str(got, "to"), c.to) << c.type;
    EXPECT_EQ(str(got, "nodeId"), c.sender_node) << c.type;
    EXPECT_EQ(got.size(), sent.size()) << json::serialize(got);
  }
  nobody_gets_anything();
}

TEST_F(ClusterTest, GateWithReadiesFromDifferentNodesFiresOnce) {
  party({{"GATE_TIMEOUT_MS", "5000"}});
  alice->send_json(msg::seek(100, true));
  EXPECT_EQ(num(all_get("SEEK_PAUSE"), "currentTime"), 100);
  bob->send_json(msg::ready(100));  // node 1: one of two (quorum of 3 is 2)
  nobody_gets_anything();
  carol->send_json(msg::ready(100));  // node 2: quorum
  const json::object play = all_get("PLAY_PAUSE");
  EXPECT_EQ(str(play, "userId"), "server");
  EXPECT_EQ(str(play, "control"), "play");
  EXPECT_EQ(num(play, "currentTime"), 100);
  alice->send_json(msg::ready(100));  // late: the gate is closed
  nobody_gets_anything();
  double quorum = 0;
  for (std::size_t node = 0; node < 3; ++node) {
    quorum += metric_of(node, "tandem_gate_outcomes_total", {{"outcome", "quorum"}});
  }
  EXPECT_EQ(quorum, 1);
}

TEST_F(ClusterTest, GateTimeoutFiresOnceAcrossNodes) {
  party({{"GATE_TIMEOUT_MS", "600"}});
  bob->send_json(msg::ready(0));  // no gate open: ignored
  alice->send_json(msg::seek(42, true));
  all_get("SEEK_PAUSE");
  const json::object play = all_get("PLAY_PAUSE");  // nobody READY: the timeout resumes
  EXPECT_EQ(str(play, "userId"), "server");
  EXPECT_EQ(num(play, "currentTime"), 42);
  nobody_gets_anything(800ms);
}

TEST_F(ClusterTest, HostLeavingElectsTheNextMemberOnAnotherNode) {
  party();
  alice->send_json(msg::leave());
  EXPECT_EQ(alice->wait_closed(), 1000);
  for (auto* c : {bob.get(), carol.get()}) {
    EXPECT_EQ(str(c->expect("HOST_CHANGED"), "hostUserId"), "bob");
    EXPECT_EQ(str(c->expect("USER_LEFT"), "userId"), "alice");
  }
  bob->expect_no_message();
  carol->expect_no_message(50ms);
  // The new host, on node 1, controls the room for carol on node 2.
  bob->send_json(msg::play_pause("play", 5));
  EXPECT_EQ(str(carol->expect("PLAY_PAUSE"), "userId"), "bob");
  bob->expect("PLAY_PAUSE");
}

TEST_F(ClusterTest, HostDisconnectingIsReplacedAfterItsGraceOnAnotherNode) {
  constexpr Millis kGrace{1500};
  party({{"RECONNECT_GRACE_MS", std::to_string(kGrace.count())}});
  const auto dropped = Clock::now();
  alice->drop();
  // Within its grace the host keeps the role, on every node (the lower bound).
  ASSERT_TRUE(eventually([&] {
    return num(arr(status_of(1, "room"), "rooms")[0].as_object(), "connectionCount") == 2;
  }));
  for (std::size_t node = 0; node < 3; ++node) {
    const json::object room = arr(status_of(node, "room"), "rooms")[0].as_object();
    if (Clock::now() - dropped >= kGrace) break;  // too slow a machine to tell: skip the rest
    EXPECT_EQ(str(room, "hostUserId"), "alice") << node;
  }
  for (auto* c : {bob.get(), carol.get()}) {
    EXPECT_EQ(str(c->expect("HOST_CHANGED", kGrace + kTimeout), "hostUserId"), "bob");
    EXPECT_EQ(str(c->expect("USER_LEFT"), "userId"), "alice");
  }
  EXPECT_GE(Clock::now() - dropped, kGrace) << "the host was replaced inside its grace";
  EXPECT_EQ(str(arr(status_of(2, "room"), "rooms")[0].as_object(), "hostUserId"), "bob");
}

TEST_F(ClusterTest, TransferHostAcrossNodes) {
  party();
  alice->send_json(msg::transfer_host("carol"));
  EXPECT_EQ(str(all_get("HOST_CHANGED"), "hostUserId"), "carol");
  alice->send_json(msg::play_pause("play", 1));
  EXPECT_EQ(str(alice->expect("ERROR"), "code"), "FORBIDDEN");
  carol->send_json(msg::seek(7, false));
  EXPECT_EQ(str(all_get("SEEK_PAUSE"), "userId"), "carol");
}

TEST_F(ClusterTest, ResumeOnADifferentNodeWithinGrace) {
  party({{"RECONNECT_GRACE_MS", "3000"}});
  bob->drop();  // bob was on node 1
  ASSERT_TRUE(eventually([&] {
    return num(arr(status_of(0, "room"), "rooms")[0].as_object(), "connectionCount") == 2;
  }));
  json::object state;
  auto bob2 = joined_on(2, "room", "bob", "Bob", std::nullopt, &state);  // back on node 2
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(str(alice->expect("USER_JOINED"), "userId"), "bob");
  EXPECT_EQ(str(carol->expect("USER_JOINED"), "userId"), "bob");
  // The grace timer node 1 armed must not remove the member that came back elsewhere.
  alice->expect_no_message(3500ms);
  alice->send_json(msg::play_pause("play", 3));
  EXPECT_EQ(str(bob2->expect("PLAY_PAUSE"), "userId"), "alice");
  EXPECT_EQ(num(arr(status_of(1, "room"), "rooms")[0].as_object(), "connectionCount"), 3);
}

TEST_F(ClusterTest, SameUserOnAnotherNodeReplacesTheOldConnection) {
  party();
  auto bob2 = joined_on(0, "room", "bob", "Bob");
  const WsEvent closed = bob->recv_event();
  ASSERT_EQ(closed.kind, WsEvent::Kind::closed) << closed.describe();
  EXPECT_EQ(alice->expect("USER_JOINED").at("userId").as_string(), "bob");
  alice->send_json(msg::play_pause("play", 1));
  bob2->wait_for("PLAY_PAUSE");
}

TEST_F(ClusterTest, FiftyClientsJoinOneRoomConcurrentlyThroughThreeNodes) {
  start_nodes(3, {{"RATE_LIMIT_PER_SEC", "1000"}});
  constexpr int n = 50;
  std::vector<std::unique_ptr<WsClient>> clients(n);
  for (int i = 0; i < n; ++i) clients[i] = connect(std::string("c").append(std::to_string(i)), i % 3);
  std::vector<json::object> states(n);
  run_parallel(n, [&](int i) {
    states[i] = join(*clients[i], "crowd", "user" + std::to_string(i));
  });
  ASSERT_FALSE(HasFailure());

  const json::object room = arr(status_of(1, "crowd"), "rooms")[0].as_object();
  const std::vector<std::string> order = user_ids(arr(room, "users"));
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n)) << json::serialize(room);
  EXPECT_EQ(std::set<std::string>(order.begin(), order.end()).size(), order.size());
  EXPECT_EQ(str(room, "hostUserId"), order[0]);
  std::map<std::string, std::size_t> position;
  for (std::size_t p = 0; p < order.size(); ++p) position[order[p]] = p;
  for (int i = 0; i < n; ++i) {
    const std::string me = "user" + std::to_string(i);
    const std::size_t p = position.at(me);
    EXPECT_EQ(str(states[i], "hostUserId"), order[0]) << me;  // one host, for everyone
    EXPECT_EQ(user_ids(arr(states[i], "users")),
              std::vector<std::string>(order.begin(), order.begin() + static_cast<long>(p) + 1))
        << me;
    for (std::size_t q = p + 1; q < order.size(); ++q) {
      EXPECT_EQ(str(clients[i]->expect("USER_JOINED"), "userId"), order[q]) << "seen by " << me;
    }
  }
  clients[0]->expect_no_message();
  for (int i = 1; i < n; ++i) clients[i]->expect_no_message(20ms);
}

TEST_F(ClusterTest, ConcurrentSeeksAndReadiesFireExactlyOneGate) {
  start_nodes(3, {{"GATE_TIMEOUT_MS", "4000"}, {"RATE_LIMIT_PER_SEC", "1000"}});
  constexpr int n = 9;
  std::vector<std::unique_ptr<WsClient>> m;
  for (int i = 0; i < n; ++i) {
    m.push_back(joined_on(static_cast<std::size_t>(i % 3), "gate", std::string("u").append(std::to_string(i))));
    for (int j = 0; j < i; ++j) m[static_cast<std::size_t>(j)]->expect("USER_JOINED");
  }
  m[0]->send_json(msg::toggle_guest_control(true));
  for (auto& c : m) c->expect("GUEST_CONTROL");
  // Everyone seeks at once from three nodes: each SEEK replaces the gate before it.
  run_parallel(n, [&](int i) { m[static_cast<std::size_t>(i)]->send_json(msg::seek(10 + i, true)); });
  // Every member sees the same order of all nine SEEKs (one total order per room), each
  // target once.
  std::vector<double> first_order;
  for (auto& c : m) {
    std::vector<double> order;
    for (int k = 0; k < n; ++k) order.push_back(num(c->expect("SEEK_PAUSE"), "currentTime"));
    if (first_order.empty()) {
      first_order = order;
      EXPECT_EQ(std::set<double>(order.begin(), order.end()).size(), static_cast<std::size_t>(n));
    } else {
      EXPECT_EQ(order, first_order) << "seen by " << c->name();
    }
  }
  const double last_target = first_order.back();
  // Then everyone is READY at once: exactly one PLAY_PAUSE from the server, to everyone.
  run_parallel(n, [&](int i) {
    m[static_cast<std::size_t>(i)]->send_json(msg::ready(last_target));
  });
  for (auto& c : m) {
    const json::object play = c->expect("PLAY_PAUSE");
    EXPECT_EQ(str(play, "userId"), "server");
    EXPECT_EQ(num(play, "currentTime"), last_target);
  }
  m[0]->expect_no_message(500ms);
  for (int i = 1; i < n; ++i) m[static_cast<std::size_t>(i)]->expect_no_message(20ms);
  double quorum = 0;
  double replaced = 0;
  for (std::size_t node = 0; node < 3; ++node) {
    quorum += metric_of(node, "tandem_gate_outcomes_total", {{"outcome", "quorum"}});
    replaced += metric_of(node, "tandem_gate_outcomes_total", {{"outcome", "replaced"}});
  }
  EXPECT_EQ(quorum, 1);
  EXPECT_EQ(replaced, n - 1);
}

TEST_F(ClusterTest, ShortIdsAndPinLockoutsAreSharedByEveryNode) {
  start_nodes(3, {{"PIN_MAX_FAILURES_PER_ADDRESS_ROOM", "3"}});
  json::object state;
  auto host = joined_on(0, "secret", "host", std::nullopt, std::string("4321"), &state);
  // A short id made on node 0 resolves on node 2, and node 1 hands out the same one.
  const HttpResponse made = http_get(port(0), "/api/short-id/secret");
  ASSERT_EQ(made.status, 200) << made.describe();
  const std::string short_id = str(made.json_object(), "shortId");
  const HttpResponse again = http_get(port(1), "/api/short-id/secret");
  EXPECT_EQ(str(again.json_object(), "shortId"), short_id);
  const HttpResponse resolved = http_get(port(2), "/api/room/" + short_id);
  ASSERT_EQ(resolved.status, 200) << resolved.describe();
  EXPECT_EQ(str(resolved.json_object(), "roomId"), "secret");

  // Wrong PINs on different nodes add up; the lock holds on every node.
  for (std::size_t node = 0; node < 3; ++node) {
    auto guess = connect("guess" + std::to_string(node), node);
    guess->send_json(msg::join("secret", "mallory", std::nullopt, std::string("0000")));
    EXPECT_EQ(str(guess->expect("ERROR"), "code"), "PIN_REQUIRED");
  }
  for (std::size_t node = 0; node < 3; ++node) {
    auto guess = connect("locked" + std::to_string(node), node);
    guess->send_json(msg::join("secret", "mallory", std::nullopt, std::string("4321")));
    EXPECT_EQ(str(guess->expect("ERROR"), "code"), "PIN_LOCKED") << "node " << node;
  }
  host->expect_no_message(50ms);
  // The host shares the guesser's address (127.0.0.1) and is still not locked out of its
  // own room, on any node: its new connection replaces the old one.
  auto host_again = connect("host-again", 2);
  join(*host_again, "secret", "host", std::nullopt, std::string("4321"));
  EXPECT_EQ(host->wait_closed(), 1000);
}

}  // namespace
}  // namespace tandem::test
