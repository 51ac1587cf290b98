// JOIN: room creation, ROOM_STATE, USER_JOINED, PINs, NOT_JOINED, the same user on a new
// connection, a JOIN repeated on one connection, and moving to another room.
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class JoinTest : public TandemTest {};

TEST_F(JoinTest, FirstJoinCreatesTheRoomWithTheJoinerAsHost) {
  start_server();
  auto alice = connect("alice");
  const std::int64_t before = now_ms();
  const json::object state = join(*alice, "movie-night-42", "user_k2x9f0q1v7", "Alice");
  EXPECT_EQ(str(state, "type"), "ROOM_STATE");
  EXPECT_EQ(str(state, "roomId"), "movie-night-42");
  EXPECT_TRUE(is_null(state, "url")) << json::serialize(state);
  EXPECT_EQ(num(state, "currentTime"), 0);
  EXPECT_EQ(flag(state, "isPlaying"), false);
  EXPECT_EQ(str(state, "hostUserId"), "user_k2x9f0q1v7");
  EXPECT_EQ(flag(state, "guestControlEnabled"), false);
  EXPECT_EQ(str(state, "nodeId"), server().node_id());
  EXPECT_GE(int_of(state, "timestamp"), before);
  EXPECT_LE(int_of(state, "timestamp"), now_ms());
  const json::array& users = arr(state, "users");
  ASSERT_EQ(users.size(), 1u) << json::serialize(state);
  const json::object& user = users[0].as_object();
  EXPECT_EQ(user.size(), 2u) << json::serialize(user);
  EXPECT_EQ(str(user, "userId"), "user_k2x9f0q1v7");
  EXPECT_EQ(str(user, "username"), "Alice");
  alice->expect_no_message();
}

TEST_F(JoinTest, RealClientJoinMessagesWork) {
  start_server();
  auto a = connect("A");
  auto b = connect("B");
  a->send_json(client_example("JOIN", 0));
  const json::object sa = a->expect("ROOM_STATE");
  EXPECT_EQ(str(sa, "hostUserId"), "user_k2x9f0q1v7");
  b->send_json(client_example("JOIN", 1));
  const json::object sb = b->expect("ROOM_STATE");
  EXPECT_EQ(user_ids(arr(sb, "users")),
            (std::vector<std::string>{"user_k2x9f0q1v7", "user_3hd82mzt0p"}));
  const json::object joined_msg = a->expect("USER_JOINED");
  EXPECT_EQ(str(joined_msg, "userId"), "user_3hd82mzt0p");
  EXPECT_EQ(str(joined_msg, "username"), "Bob");
  a->send_json(client_example("PING"));
  EXPECT_TRUE(has(a->expect("PONG"), "timestamp"));
}

TEST_F(JoinTest, LaterJoinersSeeEveryoneInJoinOrderAndOthersGetUserJoined) {
  start_server();
  auto alice = joined("room", "alice", "Alice");

  auto bob = connect("bob");
  const std::int64_t before = now_ms();
  const json::object bob_state = join(*bob, "room", "bob", "Bob");
  EXPECT_EQ(str(bob_state, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(bob_state, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(str(arr(bob_state, "users")[0].as_object(), "username"), "Alice");
  EXPECT_EQ(str(arr(bob_state, "users")[1].as_object(), "username"), "Bob");

  const json::object bob_joined = alice->expect("USER_JOINED");
  EXPECT_EQ(str(bob_joined, "userId"), "bob");
  EXPECT_EQ(str(bob_joined, "username"), "Bob");
  EXPECT_TRUE(is_uuid_v4(str(bob_joined, "peerId"))) << json::serialize(bob_joined);
  EXPECT_GE(int_of(bob_joined, "timestamp"), before);
  EXPECT_LE(int_of(bob_joined, "timestamp"), now_ms());

  auto carol = connect("carol");
  const json::object carol_state = join(*carol, "room", "carol");  // no username
  EXPECT_EQ(user_ids(arr(carol_state, "users")),
            (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_TRUE(is_null(arr(carol_state, "users")[2].as_object(), "username"));
  EXPECT_EQ(str(carol_state, "hostUserId"), "alice");

  const json::object carol_for_alice = alice->expect("USER_JOINED");
  const json::object carol_for_bob = bob->expect("USER_JOINED");
  EXPECT_EQ(str(carol_for_alice, "userId"), "carol");
  EXPECT_EQ(str(carol_for_bob, "userId"), "carol");
  EXPECT_TRUE(is_null(carol_for_alice, "username")) << json::serialize(carol_for_alice);
  EXPECT_EQ(str(carol_for_alice, "peerId"), str(carol_for_bob, "peerId"));
  EXPECT_NE(str(carol_for_alice, "peerId"), str(bob_joined, "peerId"));

  // The joiner never gets its own USER_JOINED.
  carol->expect_no_message();
  alice->expect_no_message(100ms);
  bob->expect_no_message(100ms);
}

TEST_F(JoinTest, PeerIdIsPerConnection) {
  start_server();
  auto alice = joined("room", "alice");
  auto bob1 = joined("room", "bob");
  const std::string first = str(alice->expect("USER_JOINED"), "peerId");
  auto bob2 = joined("room", "bob");
  const std::string second = str(alice->expect("USER_JOINED"), "peerId");
  EXPECT_TRUE(is_uuid_v4(first));
  EXPECT_TRUE(is_uuid_v4(second));
  EXPECT_NE(first, second);
}

TEST_F(JoinTest, PinProtectsTheRoom) {
  start_server();
  json::object state;
  auto alice = joined("pin-room", "alice", "Alice", "4821", &state);
  EXPECT_EQ(str(state, "hostUserId"), "alice");

  auto bob = connect("bob");
  bob->send_json(msg::join("pin-room", "bob", "Bob"));  // no pin
  json::object error = bob->expect("ERROR");
  EXPECT_EQ(str(error, "code"), "PIN_REQUIRED");
  EXPECT_EQ(str(error, "message"), "Invalid or missing PIN");

  bob->send_json(msg::join("pin-room", "bob", "Bob", "1234"));  // wrong pin
  error = bob->expect("ERROR");
  EXPECT_EQ(str(error, "code"), "PIN_REQUIRED");
  EXPECT_EQ(str(error, "message"), "Invalid or missing PIN");

  json::object empty_pin = msg::join("pin-room", "bob", "Bob");
  empty_pin["pin"] = "";  // the client's empty pin box: same as none
  bob->send_json(empty_pin);
  EXPECT_EQ(str(bob->expect("ERROR"), "code"), "PIN_REQUIRED");

  // The refused joiner is not a member, and the room did not hear of it.
  alice->expect_no_message();
  EXPECT_EQ(user_ids(arr(room_status("pin-room"), "users")), std::vector<std::string>{"alice"});
  expect_alive(*bob);  // still connected
  bob->send_json(msg::play_pause("play", 1));
  EXPECT_EQ(str(bob->expect("ERROR"), "code"), "NOT_JOINED");

  const json::object bob_state = join(*bob, "pin-room", "bob", "Bob", "4821");
  EXPECT_EQ(user_ids(arr(bob_state, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(str(alice->expect("USER_JOINED"), "userId"), "bob");
  EXPECT_EQ(metric("tandem_errors_total", {{"code", "PIN_REQUIRED"}}), 3);
}

TEST_F(JoinTest, PinAsJsonNumberIsAccepted) {
  start_server();
  auto alice = joined("pin-room", "alice", std::nullopt, "4821");
  auto bob = connect("bob");
  json::object m = msg::join("pin-room", "bob");
  m["pin"] = 4821;
  bob->send_json(m);
  EXPECT_EQ(user_ids(arr(bob->expect("ROOM_STATE"), "users")),
            (std::vector<std::string>{"alice", "bob"}));
}

TEST_F(JoinTest, AMemberRejoiningAPinRoomMustSendThePinAgain) {
  start_server();
  auto alice = joined("pin-room", "alice", std::nullopt, "4821");
  auto bob = joined("pin-room", "bob", std::nullopt, "4821");
  alice->expect("USER_JOINED");

  // Same connection, no pin.
  bob->send_json(msg::join("pin-room", "bob"));
  EXPECT_EQ(str(bob->expect("ERROR"), "code"), "PIN_REQUIRED");
  // New connection, no pin, then a wrong one.
  auto bob2 = connect("bob2");
  bob2->send_json(msg::join("pin-room", "bob"));
  EXPECT_EQ(str(bob2->expect("ERROR"), "code"), "PIN_REQUIRED");
  bob2->send_json(msg::join("pin-room", "bob", std::nullopt, "0000"));
  EXPECT_EQ(str(bob2->expect("ERROR"), "code"), "PIN_REQUIRED");
  // Nothing changed: bob's first connection is still the member.
  alice->expect_no_message();
  expect_alive(*bob);
  bob->send_json(msg::custom("PLAYBACK_ACK"));
  EXPECT_EQ(str(alice->expect("PLAYBACK_ACK"), "userId"), "bob");
  EXPECT_EQ(str(bob->expect("PLAYBACK_ACK"), "userId"), "bob");

  // The host re-joining needs it too.
  alice->send_json(msg::join("pin-room", "alice"));
  EXPECT_EQ(str(alice->expect("ERROR"), "code"), "PIN_REQUIRED");

  // With the pin: resumed on the new connection.
  const json::object state = join(*bob2, "pin-room", "bob", std::nullopt, "4821");
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(bob->wait_closed(), 1000);
}

TEST_F(JoinTest, APinSentToAnOpenRoomIsIgnored) {
  start_server();
  auto alice = joined("open-room", "alice");
  auto bob = joined("open-room", "bob", std::nullopt, "9999");
  alice->expect("USER_JOINED");
  auto carol = connect("carol");
  const json::object state = join(*carol, "open-room", "carol");  // no pin needed
  EXPECT_EQ(arr(state, "users").size(), 3u);
}

TEST_F(JoinTest, EverythingButJoinAndPingBeforeJoinIsNotJoined) {
  start_server();
  auto client = connect("stranger");
  const std::vector<json::object> messages = {
      msg::leave(),
      msg::update_username("x"),
      msg::toggle_guest_control(true),
      msg::transfer_host("someone"),
      msg::play_pause("play", 1),
      msg::seek(10, true),
      msg::ready(10),
      msg::host_heartbeat(1, true),
      msg::position_update(5, true),
      msg::url_change("https://www.netflix.com/watch/1"),
      msg::request_sync(),
      msg::offer("someone", json::object{{"type", "offer"}, {"sdp", "v=0"}}),
      msg::answer("someone", json::object{{"type", "answer"}, {"sdp", "v=0"}}),
      msg::ice_candidate("someone", json::object{{"candidate", "c"}}),
      msg::custom("PLAYBACK_ACK"),
      msg::custom("SYNC_PLAYBACK"),
  };
  for (const auto& m : messages) {
    client->send_json(m);
    const json::object error = client->expect("ERROR");
    EXPECT_EQ(str(error, "code"), "NOT_JOINED") << json::serialize(m);
    EXPECT_FALSE(str(error, "message").empty());
  }
  const std::int64_t before = now_ms();
  client->send_json(msg::ping(before));
  const json::object pong = client->expect("PONG");
  EXPECT_GE(int_of(pong, "timestamp"), before);
  EXPECT_EQ(metric("tandem_errors_total", {{"code", "NOT_JOINED"}}),
            static_cast<double>(messages.size()));
  // Nothing created a room.
  EXPECT_EQ(num(status(), "localRooms"), 0);
}

TEST_F(JoinTest, UsernameIsSanitizedOnJoin) {
  start_server();
  auto alice = connect("alice");
  const json::object state = join(*alice, "room", "alice",
                                  "  \tAl\x07i\x1b"
                                  "ce\n ");
  EXPECT_EQ(str(arr(state, "users")[0].as_object(), "username"), "Alice");
  auto bob = connect("bob");
  const json::object bob_state = join(*bob, "room", "bob", " \t\r\n ");
  EXPECT_TRUE(is_null(arr(bob_state, "users")[1].as_object(), "username"))
      << json::serialize(bob_state);
  EXPECT_TRUE(is_null(alice->expect("USER_JOINED"), "username"));
  auto carol = connect("carol");
  std::string long_name;
  for (int i = 0; i < 60; ++i) long_name += "\xC3\xA9";  // é x 60 (two bytes each)
  const json::object carol_state = join(*carol, "room", "carol", long_name);
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "\xC3\xA9";
  EXPECT_EQ(str(arr(carol_state, "users")[2].as_object(), "username"), expected);
}

TEST_F(JoinTest, InvalidJoinFieldsAreBadRequest) {
  start_server();
  auto client = connect("client");
  std::vector<json::object> bad = {
      msg::join("bad room", "alice"),
      msg::join("bad!room", "alice"),
      msg::join(std::string(51, 'r'), "alice"),
      msg::join("", "alice"),
      msg::join("room", ""),
      msg::join("room", "al ice"),
      msg::join("room", std::string(101, 'u')),
      msg::join("room", "alice", std::nullopt, "123"),
      msg::join("room", "alice", std::nullopt, "1234567890123"),
      msg::join("room", "alice", std::nullopt, "12a4"),
  };
  json::object m = msg::join("room", "alice");
  m["roomId"] = 42;
  bad.push_back(m);
  m = msg::join("room", "alice");
  m.erase("roomId");
  bad.push_back(m);
  m = msg::join("room", "alice");
  m.erase("userId");
  bad.push_back(m);
  m = msg::join("room", "alice");
  m["userId"] = json::array{"alice"};
  bad.push_back(m);
  m = msg::join("room", "alice");
  m["username"] = 7;
  bad.push_back(m);
  m = msg::join("room", "alice");
  m["pin"] = true;
  bad.push_back(m);
  m = msg::join("room", "alice");
  m["pin"] = 12.5;
  bad.push_back(m);
  m = msg::join("room", "alice");
  m["pin"] = -4821;
  bad.push_back(m);
  for (const auto& message : bad) {
    client->send_json(message);
    const json::object error = client->expect("ERROR");
    EXPECT_EQ(str(error, "code"), "BAD_REQUEST") << json::serialize(message);
  }
  expect_alive(*client);
  EXPECT_EQ(num(status(), "localRooms"), 0);
  // Limits are inclusive.
  const json::object state =
      join(*client, std::string(50, 'r'), std::string(100, 'u'), std::nullopt, "123456789012");
  EXPECT_EQ(str(state, "roomId"), std::string(50, 'r'));
}

TEST_F(JoinTest, SameUserOnANewConnectionReplacesTheOld) {
  start_server();
  auto alice1 = joined("room", "alice", "Alice");
  auto bob = joined("room", "bob", "Bob");
  alice1->expect("USER_JOINED");

  auto alice2 = connect("alice2");
  const json::object state = join(*alice2, "room", "alice", "Alice");
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(str(state, "hostUserId"), "alice");

  // The old connection is closed by the server, after nothing else.
  EXPECT_EQ(alice1->wait_closed(), 1000);
  EXPECT_EQ(alice1->close_reason(), "replaced by a newer connection");
  EXPECT_TRUE(alice1->skipped().empty()) << alice1->transcript();

  const json::object rejoined = bob->expect("USER_JOINED");
  EXPECT_EQ(str(rejoined, "userId"), "alice");
  EXPECT_TRUE(is_uuid_v4(str(rejoined, "peerId")));
  bob->expect_no_message();  // never USER_LEFT

  const json::object room = room_status("room");
  EXPECT_EQ(num(room, "connectionCount"), 2);
  EXPECT_EQ(str(room, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"alice", "bob"}));
  for (const auto& user : arr(room, "users")) {
    EXPECT_EQ(str(user.as_object(), "connectionQuality"), "good");
  }
  // The new connection speaks for alice.
  alice2->send_json(msg::play_pause("play", 3));
  EXPECT_EQ(str(bob->expect("PLAY_PAUSE"), "userId"), "alice");
  EXPECT_EQ(str(alice2->expect("PLAY_PAUSE"), "userId"), "alice");
}

TEST_F(JoinTest, TheReplacedConnectionClosingLaterRemovesNothing) {
  start_server({{"RECONNECT_GRACE_MS", "0"}});
  auto alice1 = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice1->expect("USER_JOINED");
  auto alice2 = joined("room", "alice");
  bob->expect("USER_JOINED");
  EXPECT_EQ(alice1->wait_closed(), 1000);
  alice1.reset();
  // With no grace at all, a close that still counted would remove alice at once.
  bob->expect_no_message();
  alice2->expect_no_message(100ms);
  EXPECT_EQ(user_ids(arr(room_status("room"), "users")),
            (std::vector<std::string>{"alice", "bob"}));
  expect_alive(*alice2);
}

TEST_F(JoinTest, JoinRepeatedOnTheSameConnection) {
  start_server({{"RECONNECT_GRACE_MS", "0"}});
  auto alice = joined("room", "alice", "Alice");
  auto bob = joined("room", "bob", "Bob");
  const std::string peer = str(alice->expect("USER_JOINED"), "peerId");

  const json::object again = join(*bob, "room", "bob", "Bobby");
  EXPECT_EQ(user_ids(arr(again, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(str(arr(again, "users")[1].as_object(), "username"), "Bobby");
  const json::object rejoined = alice->expect("USER_JOINED");
  EXPECT_EQ(str(rejoined, "userId"), "bob");
  EXPECT_EQ(str(rejoined, "peerId"), peer);  // same connection, same peer id
  EXPECT_EQ(str(rejoined, "username"), "Bobby");
  alice->expect_no_message();  // no USER_LEFT
  bob->expect_no_message(100ms);
  expect_alive(*bob);  // not closed
  EXPECT_EQ(num(room_status("room"), "connectionCount"), 2);
}

TEST_F(JoinTest, HostRepeatingJoinStaysHost) {
  start_server();
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  const json::object again = join(*alice, "room", "alice");
  EXPECT_EQ(str(again, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(again, "users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(str(bob->expect("USER_JOINED"), "userId"), "alice");
  bob->expect_no_message();
}

TEST_F(JoinTest, JoiningAnotherRoomMovesTheConnection) {
  start_server();
  auto alice = joined("room-1", "alice");
  auto bob = joined("room-1", "bob");
  alice->expect("USER_JOINED");

  const json::object state = join(*alice, "room-2", "alice");
  EXPECT_EQ(str(state, "roomId"), "room-2");
  EXPECT_EQ(str(state, "hostUserId"), "alice");
  EXPECT_EQ(user_ids(arr(state, "users")), std::vector<std::string>{"alice"});

  // Alice was room-1's host: bob gets the host, then alice's departure.
  const json::object host = bob->expect("HOST_CHANGED");
  EXPECT_EQ(str(host, "hostUserId"), "bob");
  const json::object left = bob->expect("USER_LEFT");
  EXPECT_EQ(str(left, "userId"), "alice");
  EXPECT_TRUE(is_uuid_v4(str(left, "peerId")));
  alice->expect_no_message();  // nothing from room-1 any more

  // Room-1 traffic no longer reaches alice; room-2 traffic does.
  bob->send_json(msg::play_pause("play", 5));
  bob->expect("PLAY_PAUSE");
  alice->expect_no_message();
  alice->send_json(msg::play_pause("pause", 7));
  EXPECT_EQ(num(alice->expect("PLAY_PAUSE"), "currentTime"), 7);
  bob->expect_no_message(100ms);
  EXPECT_EQ(user_ids(arr(room_status("room-1"), "users")), std::vector<std::string>{"bob"});
  EXPECT_EQ(user_ids(arr(room_status("room-2"), "users")), std::vector<std::string>{"alice"});
}

TEST_F(JoinTest, JoiningUnderAnotherNameMovesTheConnectionToo) {
  start_server();
  auto alice = joined("room-1", "alice");
  auto bob = joined("room-1", "bob");
  alice->expect("USER_JOINED");
  // Same room, new identity on the same connection: "bob" leaves, "robert" joins.
  const json::object state = join(*bob, "room-1", "robert");
  EXPECT_EQ(str(state, "hostUserId"), "alice");
  // The joiner is never told about its own arrival (as for any JOIN); it may hear that its
  // old identity left.
  for (;;) {
    const auto event = bob->recv_event(kQuiet);
    if (event.kind == WsEvent::Kind::timeout) break;
    ASSERT_TRUE(event.message.has_value()) << event.describe();
    EXPECT_NE(type_of(*event.message), "USER_JOINED") << event.describe();
    EXPECT_EQ(str(*event.message, "userId"), "bob") << event.describe();
  }
  std::vector<std::string> seen;
  for (int i = 0; i < 2; ++i) {
    const json::object m = alice->next();
    seen.push_back(type_of(m) + ":" + str(m, "userId"));
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"USER_JOINED:robert", "USER_LEFT:bob"}));
  alice->expect_no_message();
  EXPECT_EQ(user_ids(arr(room_status("room-1"), "users")),
            (std::vector<std::string>{"alice", "robert"}));
}

TEST_F(JoinTest, ARefusedJoinLeavesTheConnectionWhereItWas) {
  start_server();
  auto carol = joined("locked", "carol", std::nullopt, "4821");
  auto alice = joined("room-1", "alice");
  auto bob = joined("room-1", "bob");
  alice->expect("USER_JOINED");

  bob->send_json(msg::join("locked", "bob", std::nullopt, "1111"));
  EXPECT_EQ(str(bob->expect("ERROR"), "code"), "PIN_REQUIRED");
  alice->expect_no_message();
  carol->expect_no_message(100ms);
  bob->send_json(msg::custom("PLAYBACK_ACK"));
  EXPECT_EQ(str(alice->expect("PLAYBACK_ACK"), "userId"), "bob");
  bob->expect("PLAYBACK_ACK");
}

TEST_F(JoinTest, LastMemberLeavingArchivesTheRoom) {
  start_server();
  auto alice = joined("room", "alice", std::nullopt, "4821");
  alice->send_json(msg::leave());
  EXPECT_EQ(alice->wait_closed(), 1000);
  ASSERT_TRUE(eventually([&] { return num(status(), "localRooms") == 0; }))
      << json::serialize(status());
  EXPECT_TRUE(arr(status(), "rooms").empty());
  // A later JOIN starts a fresh room: new host, no PIN.
  json::object state;
  auto bob = joined("room", "bob", std::nullopt, std::nullopt, &state);
  EXPECT_EQ(str(state, "hostUserId"), "bob");
  EXPECT_EQ(user_ids(arr(state, "users")), std::vector<std::string>{"bob"});
  auto carol = connect("carol");
  join(*carol, "room", "carol");
}

}  // namespace
}  // namespace tandem::test
