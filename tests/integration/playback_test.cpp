// Playback and room control: guest control, host transfer, PLAY_PAUSE, SEEK_PAUSE,
// HOST_HEARTBEAT, POSITION_UPDATE, URL_CHANGE, REQUEST_SYNC, UPDATE_USERNAME, PING.
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class PlaybackTest : public TandemTest {
 protected:
  void SetUp() override {
    start_server();
    host = joined("room", "host", "Host");
    guest = joined("room", "guest", "Guest");
    host->expect("USER_JOINED");
  }

  // The next message both must receive (strict), returned as the host saw it; the two
  // copies must be identical (one frame shared by every recipient).
  json::object both(std::string_view type) {
    json::object a = host->expect(type);
    const json::object b = guest->expect(type);
    EXPECT_EQ(json::serialize(a), json::serialize(b));
    return a;
  }

  std::unique_ptr<WsClient> host;
  std::unique_ptr<WsClient> guest;
};

TEST_F(PlaybackTest, GuestWithoutControlIsForbiddenAndNothingIsBroadcast) {
  const std::vector<json::object> refused = {
      msg::play_pause("play", 10, 1764254420331.0),
      msg::seek(100, true),
      msg::url_change("https://www.netflix.com/watch/80192098", 0),
  };
  for (const auto& m : refused) {
    guest->send_json(m);
    const json::object error = guest->expect("ERROR");
    EXPECT_EQ(str(error, "code"), "FORBIDDEN") << json::serialize(m);
    EXPECT_FALSE(str(error, "message").empty());
    EXPECT_FALSE(has(error, "timestamp")) << "ERROR carries no timestamp (as the old server)";
  }
  host->expect_no_message();
  guest->expect_no_message(100ms);
  const json::object room = room_status("room");
  EXPECT_EQ(flag(room, "isPlaying"), false);
  EXPECT_EQ(num(room, "currentTime"), 0);
  EXPECT_TRUE(is_null(room, "currentUrl")) << json::serialize(room);
  EXPECT_EQ(metric("tandem_gate_outcomes_total", {{"outcome", "replaced"}}), 0);
}

TEST_F(PlaybackTest, GuestControlToggle) {
  host->send_json(msg::toggle_guest_control(true));
  const json::object on = both("GUEST_CONTROL");
  EXPECT_EQ(flag(on, "enabled"), true);
  EXPECT_GT(int_of(on, "timestamp"), 0);

  guest->send_json(msg::play_pause("play", 12.5));
  const json::object play = both("PLAY_PAUSE");
  EXPECT_EQ(str(play, "userId"), "guest");
  guest->send_json(msg::seek(50, false));
  EXPECT_EQ(str(both("SEEK_PAUSE"), "userId"), "guest");
  guest->send_json(msg::url_change("https://www.netflix.com/watch/2"));
  EXPECT_EQ(str(both("URL_CHANGE"), "userId"), "guest");

  // A later joiner learns the setting from ROOM_STATE.
  json::object state;
  auto late = joined("room", "late", std::nullopt, std::nullopt, &state);
  EXPECT_EQ(flag(state, "guestControlEnabled"), true);
  host->expect("USER_JOINED");
  guest->expect("USER_JOINED");

  host->send_json(msg::toggle_guest_control(false));
  EXPECT_EQ(flag(both("GUEST_CONTROL"), "enabled"), false);
  EXPECT_EQ(flag(late->expect("GUEST_CONTROL"), "enabled"), false);
  guest->send_json(msg::play_pause("pause", 13));
  EXPECT_EQ(str(guest->expect("ERROR"), "code"), "FORBIDDEN");
  host->expect_no_message();
}

TEST_F(PlaybackTest, OnlyTheHostTogglesOrTransfers) {
  guest->send_json(msg::toggle_guest_control(true));
  EXPECT_EQ(str(guest->expect("ERROR"), "code"), "FORBIDDEN");
  guest->send_json(msg::transfer_host("guest"));
  EXPECT_EQ(str(guest->expect("ERROR"), "code"), "FORBIDDEN");
  host->expect_no_message();
  const json::object room = room_status("room");
  EXPECT_EQ(str(room, "hostUserId"), "host");
  guest->send_json(msg::play_pause("play"));
  EXPECT_EQ(str(guest->expect("ERROR"), "code"), "FORBIDDEN");  // still no control
}

TEST_F(PlaybackTest, TransferHost) {
  host->send_json(msg::transfer_host("guest"));
  const json::object changed = both("HOST_CHANGED");
  EXPECT_EQ(str(changed, "hostUserId"), "guest");
  EXPECT_EQ(str(room_status("room"), "hostUserId"), "guest");
  // Control follows the host.
  host->send_json(msg::play_pause("play", 1));
  EXPECT_EQ(str(host->expect("ERROR"), "code"), "FORBIDDEN");
  guest->send_json(msg::play_pause("play", 1));
  EXPECT_EQ(str(both("PLAY_PAUSE"), "userId"), "guest");
  // A new joiner's ROOM_STATE names the new host.
  json::object state;
  auto late = joined("room", "late", std::nullopt, std::nullopt, &state);
  EXPECT_EQ(str(state, "hostUserId"), "guest");
}

TEST_F(PlaybackTest, TransferHostToANonMemberIsBadRequest) {
  host->send_json(msg::transfer_host("nobody"));
  const json::object error = host->expect("ERROR");
  EXPECT_EQ(str(error, "code"), "BAD_REQUEST");
  host->send_json(msg::transfer_host("bad id!"));
  EXPECT_EQ(str(host->expect("ERROR"), "code"), "BAD_REQUEST");
  json::object missing = msg::transfer_host("x");
  missing.erase("targetUserId");
  host->send_json(missing);
  EXPECT_EQ(str(host->expect("ERROR"), "code"), "BAD_REQUEST");
  guest->expect_no_message();
  EXPECT_EQ(str(room_status("room"), "hostUserId"), "host");
}

TEST_F(PlaybackTest, TransferHostToAMemberInGrace) {
  // A member inside its grace period is still a member.
  guest->drop();
  ASSERT_TRUE(eventually(
      [&] { return str(user_status("room", "guest"), "connectionQuality") == "reconnecting"; }));
  host->send_json(msg::transfer_host("guest"));
  EXPECT_EQ(str(host->expect("HOST_CHANGED"), "hostUserId"), "guest");
}

TEST_F(PlaybackTest, PlayPauseGoesToEveryoneWithTheSendersIdentity) {
  const std::int64_t before = now_ms();
  host->send_json(client_example("PLAY_PAUSE", 0));  // carries a forged-looking userId/roomId
  const json::object play = both("PLAY_PAUSE");
  EXPECT_EQ(str(play, "userId"), "host");
  EXPECT_EQ(str(play, "control"), "play");
  EXPECT_EQ(num(play, "currentTime"), 734.217);
  EXPECT_EQ(int_of(play, "eventTimestamp"), 1764254420331);
  EXPECT_GE(int_of(play, "timestamp"), before);
  EXPECT_LE(int_of(play, "timestamp"), now_ms());
  EXPECT_FALSE(has(play, "roomId")) << json::serialize(play);
  const json::object playing = room_status("room");
  EXPECT_EQ(flag(playing, "isPlaying"), true);
  EXPECT_GE(num(playing, "currentTime"), 734.217);
  EXPECT_LT(num(playing, "currentTime"), 734.217 + 60);

  // The pause the client sends when leaving /watch: no currentTime, timestamp 0.
  host->send_json(client_example("PLAY_PAUSE", 1));
  const json::object pause = both("PLAY_PAUSE");
  EXPECT_EQ(str(pause, "control"), "pause");
  EXPECT_FALSE(has(pause, "currentTime")) << json::serialize(pause);
  EXPECT_FALSE(has(pause, "eventTimestamp")) << json::serialize(pause);
  EXPECT_GE(int_of(pause, "timestamp"), before);  // the server's clock, not the client's 0
  const json::object paused = room_status("room");
  EXPECT_EQ(flag(paused, "isPlaying"), false);
  // Frozen where it was (it played for a moment).
  EXPECT_GE(num(paused, "currentTime"), 734.217);
}

TEST_F(PlaybackTest, ForgedUserIdIsIgnored) {
  json::object m = msg::play_pause("play", 5);
  m["userId"] = "guest";  // the host pretends to be the guest
  m["roomId"] = "other-room";
  host->send_json(m);
  EXPECT_EQ(str(both("PLAY_PAUSE"), "userId"), "host");
  json::object g = msg::play_pause("pause", 6);
  g["userId"] = "host";  // the guest pretends to be the host: still a guest
  guest->send_json(g);
  EXPECT_EQ(str(guest->expect("ERROR"), "code"), "FORBIDDEN");
  host->expect_no_message();
}

TEST_F(PlaybackTest, SeekPausesTheRoom) {
  host->send_json(msg::play_pause("play", 10));
  both("PLAY_PAUSE");
  host->send_json(client_example("SEEK"));
  const json::object seek = both("SEEK_PAUSE");
  EXPECT_EQ(str(seek, "userId"), "host");
  EXPECT_EQ(num(seek, "currentTime"), 1502.5);
  EXPECT_EQ(int_of(seek, "eventTimestamp"), 1764254460000);
  const json::object room = room_status("room");
  EXPECT_EQ(flag(room, "isPlaying"), false);
  EXPECT_EQ(num(room, "currentTime"), 1502.5);

  // Without eventTimestamp the server's time is used.
  const std::int64_t before = now_ms();
  host->send_json(msg::seek(20, false));
  const json::object seek2 = both("SEEK_PAUSE");
  EXPECT_GE(int_of(seek2, "eventTimestamp"), before);
  EXPECT_LE(int_of(seek2, "eventTimestamp"), now_ms());
}

TEST_F(PlaybackTest, HostHeartbeatIsBroadcastAndUpdatesTheRoom) {
  host->send_json(client_example("HOST_HEARTBEAT"));
  const json::object beat = both("HOST_HEARTBEAT");
  EXPECT_EQ(str(beat, "userId"), "host");
  EXPECT_EQ(num(beat, "currentTime"), 1510.02);
  EXPECT_EQ(flag(beat, "isPlaying"), true);
  EXPECT_EQ(int_of(beat, "eventTimestamp"), 1764254470000);
  EXPECT_GT(int_of(beat, "timestamp"), 0);
  const json::object room = room_status("room");
  EXPECT_EQ(flag(room, "isPlaying"), true);
  EXPECT_GE(num(room, "currentTime"), 1510.02);
  const json::object me = user_status("room", "host");
  EXPECT_EQ(num(me, "currentTime"), 1510.02);
  EXPECT_EQ(flag(me, "isPlaying"), true);

  const std::int64_t before = now_ms();
  host->send_json(msg::host_heartbeat(1600, false));
  const json::object beat2 = both("HOST_HEARTBEAT");
  EXPECT_GE(int_of(beat2, "eventTimestamp"), before);  // defaulted to the server's time
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), false);
}

TEST_F(PlaybackTest, GuestHeartbeatIsIgnoredSilently) {
  guest->send_json(msg::host_heartbeat(999, true));
  guest->expect_no_message();  // no error either
  host->expect_no_message(100ms);
  expect_alive(*guest);  // the heartbeat has been processed
  const json::object room = room_status("room");
  EXPECT_EQ(flag(room, "isPlaying"), false);
  EXPECT_EQ(num(room, "currentTime"), 0);
}

TEST_F(PlaybackTest, PositionUpdateIsNotBroadcastButShowsInStatus) {
  guest->send_json(client_example("POSITION_UPDATE"));
  guest->expect_no_message();
  host->expect_no_message(100ms);
  expect_alive(*guest);  // the update has been processed
  json::object me = user_status("room", "guest");
  EXPECT_EQ(num(me, "currentTime"), 1509.87);
  EXPECT_EQ(flag(me, "isPlaying"), true);
  // A guest's position is its own, not the room's.
  EXPECT_EQ(num(room_status("room"), "currentTime"), 0);
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), false);

  // currentTime 0 is ignored (a loading player reports 0).
  guest->send_json(msg::position_update(0, false));
  expect_alive(*guest);
  me = user_status("room", "guest");
  EXPECT_EQ(num(me, "currentTime"), 1509.87);
  EXPECT_EQ(flag(me, "isPlaying"), true);

  guest->send_json(msg::position_update(1511.5, false));
  expect_alive(*guest);
  me = user_status("room", "guest");
  EXPECT_EQ(num(me, "currentTime"), 1511.5);
  EXPECT_EQ(flag(me, "isPlaying"), false);
}

TEST_F(PlaybackTest, HostPositionUpdateMovesTheRoom) {
  host->send_json(msg::position_update(321.5, false));
  host->expect_no_message();
  guest->expect_no_message(100ms);
  expect_alive(*host);
  const json::object room = room_status("room");
  EXPECT_EQ(num(room, "currentTime"), 321.5);
  EXPECT_EQ(flag(room, "isPlaying"), false);
  guest->send_json(msg::request_sync());
  EXPECT_EQ(num(guest->expect("SYNC_RESPONSE"), "currentTime"), 321.5);
}

TEST_F(PlaybackTest, UrlChange) {
  host->send_json(client_example("URL_CHANGE"));
  const json::object change = both("URL_CHANGE");
  EXPECT_EQ(str(change, "userId"), "host");
  EXPECT_EQ(str(change, "url"), "https://www.netflix.com/watch/80192098");
  EXPECT_EQ(num(change, "currentTime"), 0);
  EXPECT_GT(int_of(change, "timestamp"), 0);
  EXPECT_EQ(str(room_status("room"), "currentUrl"), "https://www.netflix.com/watch/80192098");

  host->send_json(msg::url_change("http://example.com/video?t=1&x=%20"));  // no currentTime
  const json::object second = both("URL_CHANGE");
  EXPECT_EQ(num(second, "currentTime"), 0);
  EXPECT_EQ(str(second, "url"), "http://example.com/video?t=1&x=%20");

  host->send_json(msg::url_change("https://www.netflix.com/watch/3", 42));
  EXPECT_EQ(num(both("URL_CHANGE"), "currentTime"), 42);
  json::object state;
  auto late = joined("room", "late", std::nullopt, std::nullopt, &state);
  EXPECT_EQ(str(state, "url"), "https://www.netflix.com/watch/3");
  EXPECT_EQ(num(state, "currentTime"), 42);
}

TEST_F(PlaybackTest, InvalidUrlsAreBadRequest) {
  for (const std::string& url :
       {std::string("ftp://example.com/x"), std::string("javascript:alert(1)"),
        std::string("https://"), std::string("www.netflix.com/watch/1"),
        std::string("https://exa mple.com"), "https://example.com/" + std::string(2030, 'a')}) {
    host->send_json(msg::url_change(url));
    EXPECT_EQ(str(host->expect("ERROR"), "code"), "BAD_REQUEST") << url;
  }
  guest->expect_no_message();
  EXPECT_TRUE(is_null(room_status("room"), "currentUrl"));
  // 2048 bytes is the limit, and fine.
  const std::string longest = "https://example.com/" + std::string(2048 - 20, 'a');
  ASSERT_EQ(longest.size(), 2048u);
  host->send_json(msg::url_change(longest));
  EXPECT_EQ(str(both("URL_CHANGE"), "url"), longest);
}

TEST_F(PlaybackTest, RequestSyncAnswersOnlyTheSender) {
  guest->send_json(client_example("REQUEST_SYNC"));
  json::object sync = guest->expect("SYNC_RESPONSE");
  EXPECT_EQ(str(sync, "fromUserId"), "server");
  EXPECT_EQ(num(sync, "currentTime"), 0);
  EXPECT_EQ(flag(sync, "isPlaying"), false);
  EXPECT_TRUE(is_null(sync, "url")) << json::serialize(sync);
  EXPECT_GT(int_of(sync, "timestamp"), 0);
  host->expect_no_message();

  host->send_json(msg::url_change("https://www.netflix.com/watch/7", 100));
  both("URL_CHANGE");
  host->send_json(msg::play_pause("play", 100));
  both("PLAY_PAUSE");
  guest->send_json(msg::request_sync(true));
  sync = guest->expect("SYNC_RESPONSE");
  EXPECT_EQ(flag(sync, "isPlaying"), true);
  EXPECT_GE(num(sync, "currentTime"), 100);  // advanced by the wall clock while playing
  EXPECT_LT(num(sync, "currentTime"), 160);
  EXPECT_EQ(str(sync, "url"), "https://www.netflix.com/watch/7");
  host->expect_no_message();
}

TEST_F(PlaybackTest, UpdateUsername) {
  guest->send_json(client_example("UPDATE_USERNAME"));
  const json::object renamed = both("USERNAME_UPDATED");
  EXPECT_EQ(str(renamed, "userId"), "guest");
  // "Bob (living room TV, upstairs, the one with the cat on it)" cut to 50 characters.
  EXPECT_EQ(str(renamed, "username"), "Bob (living room TV, upstairs, the one with the ca");
  EXPECT_GT(int_of(renamed, "timestamp"), 0);

  guest->send_json(
      msg::update_username("  \x01Zo\x7f\xC2\x85"
                           "e\t "));  // controls, C1, blanks
  EXPECT_EQ(str(both("USERNAME_UPDATED"), "username"), "Zoe");

  std::string emoji;
  for (int i = 0; i < 55; ++i) emoji += "\xF0\x9F\x90\xB1";  // 55 cats, 4 bytes each
  guest->send_json(msg::update_username(json::string(emoji)));
  std::string fifty;
  for (int i = 0; i < 50; ++i) fifty += "\xF0\x9F\x90\xB1";
  EXPECT_EQ(str(both("USERNAME_UPDATED"), "username"), fifty);

  guest->send_json(msg::update_username("   "));
  EXPECT_TRUE(is_null(both("USERNAME_UPDATED"), "username"));
  guest->send_json(msg::update_username(nullptr));
  EXPECT_TRUE(is_null(both("USERNAME_UPDATED"), "username"));

  guest->send_json(msg::update_username("Guesty"));
  both("USERNAME_UPDATED");
  EXPECT_EQ(str(user_status("room", "guest"), "username"), "Guesty");
  json::object state;
  auto late = joined("room", "late", std::nullopt, std::nullopt, &state);
  EXPECT_EQ(str(arr(state, "users")[1].as_object(), "username"), "Guesty");
  host->expect("USER_JOINED");
  guest->expect("USER_JOINED");

  guest->send_json(msg::update_username(5));
  EXPECT_EQ(str(guest->expect("ERROR"), "code"), "BAD_REQUEST");
  guest->send_json(json::object{{"type", "UPDATE_USERNAME"}});
  EXPECT_EQ(str(guest->expect("ERROR"), "code"), "BAD_REQUEST");
}

TEST_F(PlaybackTest, PingGetsPongWithTimestamp) {
  const std::int64_t before = now_ms();
  guest->send_json(msg::ping(123));
  const json::object pong = guest->expect("PONG");
  EXPECT_GE(int_of(pong, "timestamp"), before);  // the server's clock
  EXPECT_LE(int_of(pong, "timestamp"), now_ms());
  host->expect_no_message();
  guest->send_json(json::object{{"type", "PING"}});  // timestamp is optional
  guest->expect("PONG");
}

TEST_F(PlaybackTest, LateJoinerGetsTheRoomState) {
  host->send_json(msg::url_change("https://www.netflix.com/watch/9", 0));
  both("URL_CHANGE");
  host->send_json(msg::play_pause("play", 200));
  both("PLAY_PAUSE");
  host->send_json(msg::toggle_guest_control(true));
  both("GUEST_CONTROL");
  json::object state;
  auto late = joined("room", "late", "Late", std::nullopt, &state);
  EXPECT_EQ(str(state, "url"), "https://www.netflix.com/watch/9");
  EXPECT_EQ(flag(state, "isPlaying"), true);
  EXPECT_GE(num(state, "currentTime"), 200);
  EXPECT_LT(num(state, "currentTime"), 260);
  EXPECT_EQ(flag(state, "guestControlEnabled"), true);
  EXPECT_EQ(str(state, "hostUserId"), "host");
  EXPECT_EQ(user_ids(arr(state, "users")), (std::vector<std::string>{"host", "guest", "late"}));
}

}  // namespace
}  // namespace tandem::test
