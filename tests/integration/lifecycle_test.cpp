// Members leaving: LEAVE and host re-election, disconnects and the reconnect grace period,
// stale connections, and the SIGTERM drain.
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

#include <csignal>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class LifecycleTest : public TandemTest {
 protected:
  // alice (host), bob, carol in "room", every USER_JOINED consumed. Returns carol's peerId.
  std::string three_members(std::unique_ptr<WsClient>& alice, std::unique_ptr<WsClient>& bob,
                            std::unique_ptr<WsClient>& carol) {
    alice = joined("room", "alice");
    bob = joined("room", "bob");
    alice->expect("USER_JOINED");
    carol = joined("room", "carol");
    const std::string peer = str(alice->expect("USER_JOINED"), "peerId");
    EXPECT_EQ(str(bob->expect("USER_JOINED"), "peerId"), peer);
    return peer;
  }
};

Millis since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

TEST_F(LifecycleTest, HostLeaveElectsTheEarliestRemaining) {
  start_server();
  std::unique_ptr<WsClient> alice, bob, carol;
  three_members(alice, bob, carol);

  const std::int64_t before = now_ms();
  alice->send_json(msg::leave());
  EXPECT_EQ(alice->wait_closed(), 1000);
  EXPECT_TRUE(alice->skipped().empty()) << alice->transcript();  // nothing before the close

  for (auto* member : {bob.get(), carol.get()}) {
    const json::object host = member->expect("HOST_CHANGED");
    EXPECT_EQ(str(host, "hostUserId"), "bob");
    EXPECT_GE(int_of(host, "timestamp"), before);
    const json::object left = member->expect("USER_LEFT");
    EXPECT_EQ(str(left, "userId"), "alice");
    EXPECT_TRUE(is_uuid_v4(str(left, "peerId"))) << json::serialize(left);
    EXPECT_GE(int_of(left, "timestamp"), before);
    member->expect_no_message(100ms);
  }
  const json::object room = room_status("room");
  EXPECT_EQ(str(room, "hostUserId"), "bob");
  EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"bob", "carol"}));
  // The new host has control, the old host's power is gone.
  bob->send_json(msg::play_pause("play", 10));
  bob->expect("PLAY_PAUSE");
  carol->expect("PLAY_PAUSE");
  carol->send_json(msg::play_pause("pause", 11));
  EXPECT_EQ(str(carol->expect("ERROR"), "code"), "FORBIDDEN");
}

TEST_F(LifecycleTest, GuestLeaveSendsOnlyUserLeft) {
  start_server();
  std::unique_ptr<WsClient> alice, bob, carol;
  const std::string carol_peer = three_members(alice, bob, carol);
  carol->send_json(msg::leave());
  EXPECT_EQ(carol->wait_closed(), 1000);
  for (auto* member : {alice.get(), bob.get()}) {
    const json::object left = member->expect("USER_LEFT");  // strict: no HOST_CHANGED first
    EXPECT_EQ(str(left, "userId"), "carol");
    EXPECT_EQ(str(left, "peerId"), carol_peer);
    member->expect_no_message(100ms);
  }
  EXPECT_EQ(str(room_status("room"), "hostUserId"), "alice");
}

TEST_F(LifecycleTest, RealClientLeaveMessage) {
  start_server();
  auto a = connect("A");
  a->send_json(client_example("JOIN", 0));
  a->expect("ROOM_STATE");
  auto b = connect("B");
  b->send_json(client_example("JOIN", 1));
  b->expect("ROOM_STATE");
  a->expect("USER_JOINED");
  b->send_json(client_example("LEAVE"));
  EXPECT_EQ(b->wait_closed(), 1000);
  EXPECT_EQ(str(a->expect("USER_LEFT"), "userId"), "user_3hd82mzt0p");
}

TEST_F(LifecycleTest, ReElectionPrefersAConnectedMember) {
  start_server({{"RECONNECT_GRACE_MS", "30000"}});
  std::unique_ptr<WsClient> alice, bob, carol;
  three_members(alice, bob, carol);
  bob->drop();  // bob is inside his grace period: still a member, not connected
  ASSERT_TRUE(eventually(
      [&] { return str(user_status("room", "bob"), "connectionQuality") == "reconnecting"; }));
  alice->send_json(msg::leave());
  EXPECT_EQ(alice->wait_closed(), 1000);
  EXPECT_EQ(str(carol->expect("HOST_CHANGED"), "hostUserId"), "carol");
  EXPECT_EQ(str(carol->expect("USER_LEFT"), "userId"), "alice");
  EXPECT_EQ(str(room_status("room"), "hostUserId"), "carol");
}

TEST_F(LifecycleTest, ResumeWithinGraceOnANewConnection) {
  const int grace_ms = 1500;
  start_server({{"RECONNECT_GRACE_MS", std::to_string(grace_ms)}});
  auto alice = joined("room", "alice", "Alice");
  auto bob = joined("room", "bob", "Bob");
  alice->expect("USER_JOINED");

  const auto dropped_at = Clock::now();
  alice->drop();  // the host's network goes away, no LEAVE
  bob->expect_no_message();
  ASSERT_TRUE(eventually([&] { return num(room_status("room"), "connectionCount") == 1; }));
  const json::object during = room_status("room");
  EXPECT_EQ(num(during, "connectionCount"), 1);
  EXPECT_EQ(str(during, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(during, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(str(user_status("room", "alice"), "connectionQuality"), "reconnecting");

  auto alice2 = connect("alice2");
  const json::object state = join(*alice2, "room", "alice", "Alice");
  ASSERT_LT(since(dropped_at).count(), grace_ms) << "the test machine is too slow for this grace";
  EXPECT_EQ(str(state, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob"}));
  const json::object back = bob->expect("USER_JOINED");
  EXPECT_EQ(str(back, "userId"), "alice");
  EXPECT_EQ(str(back, "username"), "Alice");

  // The grace timer of the first absence must not remove the resumed member.
  const auto left = Millis(grace_ms) - since(dropped_at);
  bob->expect_no_message(left + 500ms);
  alice2->expect_no_message(100ms);
  const json::object after = room_status("room");
  EXPECT_EQ(num(after, "connectionCount"), 2);
  EXPECT_EQ(str(after, "hostUserId"), "alice");
  EXPECT_EQ(str(user_status("room", "alice"), "connectionQuality"), "good");
}

TEST_F(LifecycleTest, ResumeAfterACleanCloseWithoutLeave) {
  start_server({{"RECONNECT_GRACE_MS", "1000"}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  bob->close(1001, "page reload");  // a close frame, but no LEAVE: same as a drop
  alice->expect_no_message();
  auto bob2 = joined("room", "bob");
  EXPECT_EQ(str(alice->expect("USER_JOINED"), "userId"), "bob");
  alice->expect_no_message(1200ms);
  EXPECT_EQ(user_ids(arr(room_status("room"), "users")),
            (std::vector<std::string>{"alice", "bob"}));
}

TEST_F(LifecycleTest, HostGraceExpiryReElectsAndAnnouncesTheLeave) {
  const int grace_ms = 400;
  start_server({{"RECONNECT_GRACE_MS", std::to_string(grace_ms)}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  const auto dropped_at = Clock::now();
  alice->drop();
  const json::object host = bob->expect("HOST_CHANGED", Millis(grace_ms) + kTimeout);
  EXPECT_GE(since(dropped_at).count(), grace_ms - 50);
  EXPECT_EQ(str(host, "hostUserId"), "bob");
  EXPECT_EQ(str(bob->expect("USER_LEFT"), "userId"), "alice");
  bob->expect_no_message();
  const json::object room = room_status("room");
  EXPECT_EQ(str(room, "hostUserId"), "bob");
  EXPECT_EQ(user_ids(arr(room, "users")), std::vector<std::string>{"bob"});
}

TEST_F(LifecycleTest, GuestGraceExpirySendsOnlyUserLeft) {
  start_server({{"RECONNECT_GRACE_MS", "300"}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  const std::string bob_peer = str(alice->expect("USER_JOINED"), "peerId");
  const auto dropped_at = Clock::now();
  bob->drop();
  const json::object left = alice->expect("USER_LEFT", kTimeout);
  EXPECT_GE(since(dropped_at).count(), 250);
  EXPECT_EQ(str(left, "userId"), "bob");
  EXPECT_EQ(str(left, "peerId"), bob_peer);
  alice->expect_no_message();
}

TEST_F(LifecycleTest, ZeroGraceLeavesAtOnce) {
  start_server({{"RECONNECT_GRACE_MS", "0"}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  auto carol = joined("room", "carol");
  alice->expect("USER_JOINED");
  alice->expect("USER_JOINED");
  bob->expect("USER_JOINED");
  alice->drop();
  // "At once": well before any grace period could matter.
  EXPECT_EQ(str(bob->expect("HOST_CHANGED", 1000ms), "hostUserId"), "bob");
  EXPECT_EQ(str(bob->expect("USER_LEFT", 1000ms), "userId"), "alice");
  EXPECT_EQ(str(carol->expect("HOST_CHANGED", 1000ms), "hostUserId"), "bob");
  EXPECT_EQ(str(carol->expect("USER_LEFT", 1000ms), "userId"), "alice");
}

TEST_F(LifecycleTest, LastMemberDisconnectingKeepsTheRoomDuringGrace) {
  start_server({{"RECONNECT_GRACE_MS", "1000"}});
  auto alice = joined("room", "alice", std::nullopt, "4821");
  alice->send_json(msg::url_change("https://www.netflix.com/watch/1", 30));
  alice->expect("URL_CHANGE");
  alice->drop();
  // Once the server has seen the disconnect, the room is still there, member, PIN and all,
  // for the member's return.
  ASSERT_TRUE(eventually([&] { return num(room_status("room"), "connectionCount") == 0; }));
  const json::object room = room_status("room");
  EXPECT_EQ(user_ids(arr(room, "users")), std::vector<std::string>{"alice"});
  EXPECT_EQ(str(room, "hostUserId"), "alice");
  auto stranger = connect("stranger");
  stranger->send_json(msg::join("room", "mallory"));
  EXPECT_EQ(str(stranger->expect("ERROR"), "code"), "PIN_REQUIRED");
  json::object state;
  auto alice2 = joined("room", "alice", std::nullopt, "4821", &state);
  EXPECT_EQ(str(state, "url"), "https://www.netflix.com/watch/1");
  EXPECT_EQ(str(state, "hostUserId"), "alice");
}

TEST_F(LifecycleTest, EmptiedRoomIsArchivedAfterGrace) {
  start_server({{"RECONNECT_GRACE_MS", "300"}});
  auto alice = joined("room", "alice");
  alice->drop();
  ASSERT_TRUE(eventually([&] { return arr(status("room"), "rooms").empty(); }));
  // Archived, not kept: a JOIN starts a fresh room.
  json::object state;
  auto bob = joined("room", "bob", std::nullopt, std::nullopt, &state);
  EXPECT_EQ(user_ids(arr(state, "users")), std::vector<std::string>{"bob"});
  EXPECT_EQ(str(state, "hostUserId"), "bob");
}

TEST_F(LifecycleTest, StaleConnectionIsClosedAndRemovedWithoutGrace) {
  // Silent for 2 x 500 ms: closed. The default grace (10 s) must not apply.
  start_server({{"HEARTBEAT_TIMEOUT_MS", "500"}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  const std::string bob_peer = str(alice->expect("USER_JOINED"), "peerId");
  const auto silent_since = Clock::now();

  // Alice keeps talking (a PING every 200 ms); bob says nothing.
  std::optional<json::object> left;
  while (!left && since(silent_since) < 8s) {
    alice->send_json(msg::ping());
    const auto until = Clock::now() + 200ms;
    while (!left && Clock::now() < until) {
      auto event = alice->recv_event(std::chrono::duration_cast<Millis>(until - Clock::now()));
      if (event.kind == WsEvent::Kind::timeout) break;
      ASSERT_EQ(event.kind, WsEvent::Kind::message) << event.describe();
      ASSERT_TRUE(event.message.has_value()) << event.describe();
      const std::string type = type_of(*event.message);
      if (type == "USER_LEFT") {
        left = *event.message;
      } else {
        ASSERT_EQ(type, "PONG") << event.describe();
      }
    }
  }
  ASSERT_TRUE(left.has_value()) << "bob was not removed within 8 s of silence";
  const auto removed_after = since(silent_since);
  EXPECT_GE(removed_after.count(), 900) << "removed before 2 x HEARTBEAT_TIMEOUT_MS";
  EXPECT_LT(removed_after.count(), 6000) << "a stale member must not wait for the grace period";
  EXPECT_EQ(str(*left, "userId"), "bob");
  EXPECT_EQ(str(*left, "peerId"), bob_peer);

  // A silent connection is dropped without a closing handshake (it would not answer one).
  EXPECT_EQ(bob->wait_closed(), 1006);
  expect_alive(*alice);  // the talker was never at risk
  EXPECT_EQ(user_ids(arr(room_status("room"), "users")), std::vector<std::string>{"alice"});
}

TEST_F(LifecycleTest, ATalkerOutlivesManyIdleTimeoutsAndIsClosedOnceSilent) {
  // The idle wheel re-files a connection that spoke since it was filed: PINGs every 300 ms
  // keep it open through four idle timeouts (2 x 500 ms each); then, silent, it is closed.
  start_server({{"HEARTBEAT_TIMEOUT_MS", "500"}});
  auto alice = joined("room", "alice");
  const auto talking_since = Clock::now();
  auto silent_since = talking_since;
  while (since(talking_since) < 4s) {
    silent_since = Clock::now();  // the server hears nothing after the last PING
    alice->send_json(msg::ping());
    alice->expect("PONG");
    ASSERT_EQ(alice->recv_event(300ms).kind, WsEvent::Kind::timeout) << "nothing else is sent";
  }
  const int code = alice->wait_closed();
  EXPECT_EQ(code, 1006) << "closed without a closing handshake";
  const auto closed_after = since(silent_since);
  EXPECT_GE(closed_after.count(), 900) << "closed before 2 x HEARTBEAT_TIMEOUT_MS of silence";
  EXPECT_LT(closed_after.count(), 6000);
  ASSERT_TRUE(eventually([&] { return num(status(), "localRooms") == 0; }))
      << "the stale member left without waiting for the 10 s grace";
}

TEST_F(LifecycleTest, StaleHostIsReplaced) {
  start_server({{"HEARTBEAT_TIMEOUT_MS", "500"}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  const auto silent_since = Clock::now();
  std::optional<json::object> host;
  while (!host && since(silent_since) < 8s) {
    bob->send_json(msg::ping());
    bob->expect("PONG");
    auto event = bob->recv_event(200ms);
    if (event.kind == WsEvent::Kind::message && event.message) {
      ASSERT_EQ(type_of(*event.message), "HOST_CHANGED") << event.describe();
      host = *event.message;
    }
  }
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(str(*host, "hostUserId"), "bob");
  EXPECT_EQ(str(bob->expect("USER_LEFT", kTimeout, {"PONG"}), "userId"), "alice");
  alice->wait_closed();
}

TEST_F(LifecycleTest, SigtermDrainsWith1001AndExitsZero) {
  start_server({{"RECONNECT_GRACE_MS", "10000"}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  EXPECT_EQ(http_get(port(), "/ready").status, 200);

  const auto signalled = Clock::now();
  server().signal(SIGTERM);
  EXPECT_EQ(alice->wait_closed(), 1001);
  EXPECT_EQ(bob->wait_closed(), 1001);
  // No USER_LEFT/HOST_CHANGED storm on the way out.
  EXPECT_TRUE(alice->skipped().empty()) << alice->transcript();
  EXPECT_TRUE(bob->skipped().empty()) << bob->transcript();
  const auto exit = server().wait_exit(15s);
  ASSERT_TRUE(exit.has_value()) << "still running 15 s after SIGTERM";
  EXPECT_TRUE(exit->exited) << exit->describe();
  EXPECT_EQ(exit->code, 0) << exit->describe();
  EXPECT_LT(since(signalled).count(), 15000);
  EXPECT_TRUE(server().wait_for_log_msg("shutdown_requested", 0ms).has_value());
}

TEST_F(LifecycleTest, ReadyTurns503WhileDraining) {
  // A client that never answers the close keeps the drain open (up to the drain timeout):
  // long enough to ask /ready on a connection opened before the signal.
  // The stuck connection is aborted after HANDSHAKE_TIMEOUT_MS (the closing handshake's
  // bound), well before DRAIN_TIMEOUT_MS.
  start_server({{"DRAIN_TIMEOUT_MS", "5000"}, {"HANDSHAKE_TIMEOUT_MS", "1500"}});
  auto stuck = joined("room", "stuck");  // its io_context only runs when we call it
  HttpConnection http;
  http.connect(port());
  EXPECT_EQ(http.request("GET", "/ready").status, 200);

  server().signal(SIGTERM);
  ASSERT_TRUE(server().wait_for_log_msg("draining", kTimeout).has_value());
  const HttpResponse during = http.request("GET", "/ready");
  EXPECT_EQ(during.status, 503) << during.describe();
  EXPECT_EQ(str(during.json_object(), "status"), "draining");
  EXPECT_EQ(str(during.json_object(), "nodeId"), server().node_id());
  // The drain waits for the client that does not answer (up to its bounds).
  EXPECT_TRUE(server().running());
  const auto exit = server().wait_exit(15s);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe();
  // What the stuck client finds when it finally reads: the 1001 close frame.
  const int code = stuck->wait_closed();
  EXPECT_TRUE(code == 1001 || code == 1006) << code;
  EXPECT_TRUE(server().stderr_lines().empty()) << server().output();
}

TEST_F(LifecycleTest, DrainTimeoutWithAnUnresponsiveClientStillExitsCleanly) {
  // The drain gives up on a client that never answers the close (DRAIN_TIMEOUT_MS passes
  // before the closing handshake's own bound): the process must still exit with status 0,
  // and without touching freed objects on the way out.
  start_server({{"DRAIN_TIMEOUT_MS", "500"}, {"HANDSHAKE_TIMEOUT_MS", "10000"}});
  auto stuck = joined("room", "stuck");  // never pumped after this: never answers the close
  const auto signalled = Clock::now();
  server().signal(SIGTERM);
  ASSERT_TRUE(server().wait_for_log_msg("drain_timeout", kTimeout).has_value())
      << server().output();
  const auto exit = server().wait_exit(15s);
  ASSERT_TRUE(exit.has_value()) << "still running 15 s after SIGTERM";
  EXPECT_LT(since(signalled).count(), 5000);
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe() << "\n" << server().output();
  EXPECT_TRUE(server().stderr_lines().empty()) << server().output();
}

}  // namespace
}  // namespace tandem::test
