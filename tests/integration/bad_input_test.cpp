// Hostile and broken input: malformed JSON, wrong field types for every message type,
// protocol violations at the frame level, invalid UTF-8, floods. The server answers ERROR
// (and keeps the connection) or closes with the right code, and never falls over.
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class BadInputTest : public TandemTest {};

std::string nested(int depth, std::string_view open = "[", std::string_view close = "]") {
  std::string out;
  for (int i = 0; i < depth; ++i) out += open;
  for (int i = 0; i < depth; ++i) out += close;
  return out;
}

TEST_F(BadInputTest, MalformedJsonGetsAnErrorAndTheConnectionStays) {
  start_server();
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");

  struct Case {
    std::string text;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"not json", "INVALID_JSON"},
      {"", "INVALID_JSON"},
      {"{", "INVALID_JSON"},
      {R"({"type":"PING")", "INVALID_JSON"},
      {R"({"type":"PING"}})", "INVALID_JSON"},
      {R"({"type":"PING"} {"type":"PING"})", "INVALID_JSON"},
      {R"({'type':'PING'})", "INVALID_JSON"},
      {R"({"type":"PING",})", "INVALID_JSON"},
      {R"({type:"PING"})", "INVALID_JSON"},
      {"{\"type\":\"PI\x01NG\"}", "INVALID_JSON"},  // raw control character in a string
      {R"({"type":"P\xNG"})", "INVALID_JSON"},      // bad escape
      {R"({"type":"SEEK","currentTime":NaN,"isPlaying":true})", "INVALID_JSON"},
      {R"({"type":"SEEK","currentTime":Infinity,"isPlaying":true})", "INVALID_JSON"},
      {R"({"type":"SEEK","currentTime":-Infinity,"isPlaying":true})", "INVALID_JSON"},
      {R"({"type":"SEEK","currentTime":0x10,"isPlaying":true})", "INVALID_JSON"},
      {R"({"type":"SEEK","currentTime":01,"isPlaying":true})", "INVALID_JSON"},
      {R"({"type":"SEEK","currentTime":1.,"isPlaying":true})", "INVALID_JSON"},
      {"[]", "INVALID_JSON"},
      {R"([{"type":"PING"}])", "INVALID_JSON"},
      {"null", "INVALID_JSON"},
      {"true", "INVALID_JSON"},
      {"42", "INVALID_JSON"},
      {R"("PING")", "INVALID_JSON"},
      {"{}", "BAD_REQUEST"},
      {R"({"type":42})", "BAD_REQUEST"},
      {R"({"type":null})", "BAD_REQUEST"},
      {R"({"type":["PING"]})", "BAD_REQUEST"},
      {R"({"type":{"name":"PING"}})", "BAD_REQUEST"},
      {R"({"Type":"PING"})", "BAD_REQUEST"},
      {R"({"type":""})", "BAD_REQUEST"},
      {R"({"type":"ping"})", "__fallback__"},  // case matters: an unknown type, broadcast
      {R"({"type":"SEEK","currentTime":1e400,"isPlaying":true})", "BAD_REQUEST"},
      {R"({"type":"SEEK","currentTime":-1e400,"isPlaying":true})", "BAD_REQUEST"},
      {R"({"type":"PLAY_PAUSE","control":"play","eventTimestamp":1e400})", "BAD_REQUEST"},
      {R"({"type":"SEEK","currentTime":-0.001,"isPlaying":true})", "BAD_REQUEST"},
      {R"({"type":"PING","x":)" + nested(16) + "}", "INVALID_JSON"},
      {R"({"type":"PING","x":)" + nested(100) + "}", "INVALID_JSON"},
      {R"({"type":"PING","x":)" + nested(1000, R"({"a":)", "}") + "}", "INVALID_JSON"},
      {nested(30000), "INVALID_JSON"},
      {"{\"type\":\"" + std::string(10000, 'T') + "\"}", "BAD_REQUEST"},
      {"{\"type\":\"PLAY_PAUSE\",\"control\":\"" + std::string(60000, 'p') + "\"}", "BAD_REQUEST"},
      {"{\"type\":\"URL_CHANGE\",\"url\":\"https://x.y/" + std::string(60000, 'u') + "\"}",
       "BAD_REQUEST"},
  };
  for (const auto& c : cases) {
    const std::string shown = c.text.size() > 80 ? c.text.substr(0, 80) + "..." : c.text;
    alice->send_text(c.text);
    if (c.code == "__fallback__") {
      EXPECT_EQ(type_of(alice->expect("ping")), "ping");
      bob->expect("ping");
      continue;
    }
    const json::object error = alice->expect("ERROR");
    EXPECT_EQ(str(error, "code"), c.code) << shown;
    EXPECT_FALSE(str(error, "message").empty()) << shown;
  }
  expect_alive(*alice);
  bob->expect_no_message();
  EXPECT_EQ(str(room_status("room"), "hostUserId"), "alice");
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), false);
  expect_server_healthy();
}

TEST_F(BadInputTest, AcceptableOddities) {
  start_server();
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  // White space around the object, unicode escapes, nesting within the limit, numbers at
  // the edge of what a double holds.
  alice->send_text(" \r\n\t{\"type\":\"PING\"} \n");
  alice->expect("PONG");
  alice->send_text(R"({"type":"\u0050\u0049\u004e\u0047"})");
  alice->expect("PONG");
  alice->send_text(R"({"type":"PLAYBACK_ACK","deep":)" + nested(14) + "}");
  EXPECT_EQ(json::serialize(alice->expect("PLAYBACK_ACK").at("deep")), nested(14));
  bob->expect("PLAYBACK_ACK");
  alice->send_text(
      R"({"type":"PLAY_PAUSE","control":"play","currentTime":1e308,"eventTimestamp":123456789012345678901234567890})");
  const json::object play = alice->expect("PLAY_PAUSE");
  EXPECT_EQ(num(play, "currentTime"), 1e308);
  EXPECT_EQ(num(play, "eventTimestamp"), 123456789012345678901234567890.0);
  bob->expect("PLAY_PAUSE");
  alice->send_text(R"({"type":"SEEK","currentTime":-0,"isPlaying":false})");
  EXPECT_EQ(num(alice->expect("SEEK_PAUSE"), "currentTime"), 0);
  bob->expect("SEEK_PAUSE");
  alice->send_text(
      R"({"type":"PLAYBACK_ACK","big":18446744073709551615,"neg":-9223372036854775808})");
  const json::object big = alice->expect("PLAYBACK_ACK");
  EXPECT_EQ(json::serialize(big.at("big")), "18446744073709551615");
  EXPECT_EQ(json::serialize(big.at("neg")), "-9223372036854775808");
  bob->expect("PLAYBACK_ACK");
  // A username of 60 KB is cut, not refused.
  bob->send_json(msg::update_username(json::string(std::string(60000, 'n'))));
  EXPECT_EQ(str(bob->expect("USERNAME_UPDATED"), "username"), std::string(50, 'n'));
  alice->expect("USERNAME_UPDATED");
  expect_server_healthy();
}

TEST_F(BadInputTest, WrongFieldTypesForEveryMessageType) {
  start_server();
  auto host = joined("room", "host");
  auto guest = joined("room", "guest");
  host->expect("USER_JOINED");

  const auto with = [](json::object m, std::string_view key, json::value v) {
    m[key] = std::move(v);
    return m;
  };
  const auto without = [](json::object m, std::string_view key) {
    m.erase(key);
    return m;
  };
  const json::object ice = msg::ice_candidate("guest", json::object{{"candidate", "c"}});
  const json::object offer = msg::offer("guest", json::object{{"type", "offer"}, {"sdp", "v=0"}});
  const json::object answer =
      msg::answer("guest", json::object{{"type", "answer"}, {"sdp", "v=0"}});
  const std::vector<json::object> bad = {
      // JOIN (on a joined connection: refused, the connection stays where it is)
      with(msg::join("room", "host"), "roomId", 7),
      with(msg::join("room", "host"), "roomId", json::array{}),
      with(msg::join("room", "host"), "userId", json::object{}),
      with(msg::join("room", "host"), "userId", true),
      with(msg::join("room", "host"), "username", json::array{"x"}),
      with(msg::join("room", "host"), "pin", json::object{}),
      with(msg::join("room", "host"), "pin", "12 34"),
      // UPDATE_USERNAME
      with(msg::update_username("x"), "username", 12),
      with(msg::update_username("x"), "username", json::object{}),
      without(msg::update_username("x"), "username"),
      // TOGGLE_GUEST_CONTROL
      with(msg::toggle_guest_control(true), "enabled", "true"),
      with(msg::toggle_guest_control(true), "enabled", 1),
      with(msg::toggle_guest_control(true), "enabled", nullptr),
      without(msg::toggle_guest_control(true), "enabled"),
      // TRANSFER_HOST
      with(msg::transfer_host("guest"), "targetUserId", 5),
      with(msg::transfer_host("guest"), "targetUserId", ""),
      // PLAY_PAUSE
      with(msg::play_pause("play"), "control", "stop"),
      with(msg::play_pause("play"), "control", "PLAY"),
      with(msg::play_pause("play"), "control", 1),
      without(msg::play_pause("play"), "control"),
      with(msg::play_pause("play"), "currentTime", "10"),
      with(msg::play_pause("play"), "currentTime", -1),
      with(msg::play_pause("play"), "currentTime", json::array{1}),
      with(msg::play_pause("play"), "eventTimestamp", "now"),
      with(msg::play_pause("play"), "eventTimestamp", true),
      // SEEK
      without(msg::seek(1, true), "currentTime"),
      without(msg::seek(1, true), "isPlaying"),
      with(msg::seek(1, true), "currentTime", "1"),
      with(msg::seek(1, true), "isPlaying", "true"),
      with(msg::seek(1, true), "isPlaying", 1),
      with(msg::seek(1, true), "eventTimestamp", json::object{}),
      // READY
      with(msg::ready(), "targetTime", "1"),
      with(msg::ready(), "targetTime", -5),
      // HOST_HEARTBEAT
      without(msg::host_heartbeat(1, true), "currentTime"),
      without(msg::host_heartbeat(1, true), "isPlaying"),
      with(msg::host_heartbeat(1, true), "currentTime", false),
      with(msg::host_heartbeat(1, true), "eventTimestamp", "x"),
      // POSITION_UPDATE
      with(msg::position_update(1, true), "currentTime", nullptr),
      with(msg::position_update(1, true), "isPlaying", "yes"),
      without(msg::position_update(1, true), "isPlaying"),
      // URL_CHANGE
      with(msg::url_change("https://a.b"), "url", 5),
      without(msg::url_change("https://a.b"), "url"),
      with(msg::url_change("https://a.b"), "url", "data:text/html,hi"),
      with(msg::url_change("https://a.b"), "currentTime", "0"),
      // REQUEST_SYNC
      with(msg::request_sync(), "respectAutoPlay", "no"),
      with(msg::request_sync(), "respectAutoPlay", 0),
      // OFFER / ANSWER / ICE_CANDIDATE
      with(offer, "to", json::array{"guest"}),
      with(offer, "offer", 5),
      with(answer, "answer", "sdp"),
      without(answer, "to"),
      with(ice, "candidate", 42),
      with(ice, "to", nullptr),
  };
  for (const auto& message : bad) {
    host->send_json(message);
    const json::object error = host->expect("ERROR");
    EXPECT_EQ(str(error, "code"), "BAD_REQUEST") << json::serialize(message);
  }
  guest->expect_no_message();
  expect_alive(*host);
  // Nothing changed.
  const json::object room = room_status("room");
  EXPECT_EQ(str(room, "hostUserId"), "host");
  EXPECT_EQ(flag(room, "isPlaying"), false);
  EXPECT_TRUE(is_null(room, "currentUrl"));
  EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"host", "guest"}));
  EXPECT_EQ(metric("tandem_errors_total", {{"code", "BAD_REQUEST"}}),
            static_cast<double>(bad.size()));
  expect_server_healthy();
}

TEST_F(BadInputTest, TruncatedFramesDoNotHurtTheServer) {
  start_server();
  auto alice = joined("room", "alice");
  {
    // A header announcing 200 bytes, 10 sent, then the client stops sending.
    auto client = connect("truncated");
    client->send_raw(ws_frame(0x1, "0123456789", true, true, 200));
    client->expect_no_message();  // the server waits for the rest; nothing to say yet
    client->shutdown_send();
    const int code = client->wait_closed();
    EXPECT_TRUE(code == 1006 || code == 1002) << code;
  }
  {
    // Half a header.
    auto client = connect("half-header");
    client->send_raw(std::string("\x81", 1));
    client->shutdown_send();
    const int code = client->wait_closed();
    EXPECT_TRUE(code == 1006 || code == 1002) << code;
  }
  {
    // A truncated frame, then the TCP connection vanishes.
    auto client = connect("vanishing");
    client->send_raw(ws_frame(0x1, R"({"type":"PI)", true, true, 40));
    client->drop();
  }
  expect_alive(*alice);
  expect_server_healthy();
}

TEST_F(BadInputTest, FrameLevelProtocolViolationsClose1002) {
  start_server();
  struct Case {
    std::string what;
    std::string bytes;
  };
  const std::string ping = R"({"type":"PING"})";
  std::string rsv = ws_frame(0x1, ping);
  rsv[0] = static_cast<char>(rsv[0] | 0x40);  // RSV1 without an extension
  const std::vector<Case> cases = {
      {"unmasked client frame", ws_frame(0x1, ping, true, false)},
      {"reserved opcode 0x3", ws_frame(0x3, ping)},
      {"reserved control opcode 0xB", ws_frame(0xB, "")},
      {"RSV1 set", rsv},
      {"continuation without a start", ws_frame(0x0, ping)},
      {"fragmented ping", ws_frame(0x9, "x", false)},
      {"ping over 125 bytes", ws_frame(0x9, std::string(126, 'p'))},
      {"new text frame inside a fragmented message",
       ws_frame(0x1, R"({"type":)", false) + ws_frame(0x1, ping)},
      {"close frame with a 1-byte payload", ws_frame(0x8, "\x03")},
      {"close frame with code 1005", ws_frame(0x8, std::string("\x03\xED", 2))},
      {"close frame with code 999", ws_frame(0x8, std::string("\x03\xE7", 2))},
  };
  for (const auto& c : cases) {
    auto client = connect(c.what);
    client->try_send_raw(c.bytes);
    EXPECT_EQ(client->wait_closed(), 1002) << c.what;
  }
  expect_server_healthy();
}

TEST_F(BadInputTest, ControlFramesFromTheClientAreHandled) {
  start_server();
  auto client = joined("room", "alice");
  client->send_raw(ws_frame(0x9, "are you there"));  // ping: answered with a pong (by Beast)
  client->send_raw(ws_frame(0xA, "unsolicited"));    // pong: ignored
  expect_alive(*client);
  // A fragmented text message with a ping between its fragments is legal.
  client->send_raw(ws_frame(0x1, R"({"type":)", false));
  client->send_raw(ws_frame(0x9, "mid"));
  client->send_raw(ws_frame(0x0, R"("PING"})", true));
  client->expect("PONG");
  expect_server_healthy();
}

TEST_F(BadInputTest, InvalidUtf8Closes1007) {
  start_server();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"lone continuation byte", "{\"type\":\"PING\",\"x\":\"\x80\"}"},
      {"overlong slash", "{\"type\":\"PING\",\"x\":\"\xC0\xAF\"}"},
      {"UTF-16 surrogate", "{\"type\":\"PING\",\"x\":\"\xED\xA0\x80\"}"},
      {"above U+10FFFF", "{\"type\":\"PING\",\"x\":\"\xF4\x90\x80\x80\"}"},
      {"0xFF byte", "{\"type\":\"PING\",\"x\":\"\xFF\"}"},
      {"truncated sequence at the end", "{\"type\":\"PING\"}\xE2\x82"},
  };
  for (const auto& [what, text] : cases) {
    auto client = connect(what);
    client->try_send_raw(ws_frame(0x1, text));
    EXPECT_EQ(client->wait_closed(), 1007) << what;
    EXPECT_TRUE(client->skipped().empty()) << what << ": " << client->transcript();
  }
  {
    // Split across fragments: each part alone is a valid prefix, the whole is not.
    auto client = connect("split");
    client->try_send_raw(ws_frame(0x1, "{\"type\":\"PING\",\"x\":\"\xE2\x82", false));
    client->try_send_raw(ws_frame(0x0, "\x28\"}", true));
    EXPECT_EQ(client->wait_closed(), 1007);
  }
  {
    // Valid multi-byte characters split across fragments are fine.
    auto client = connect("valid-split");
    client->send_raw(ws_frame(0x1, "{\"type\":\"PING\",\"x\":\"\xE2\x82", false));
    client->send_raw(ws_frame(0x0, "\xAC\"}", true));
    client->expect("PONG");
  }
  expect_server_healthy();
}

TEST_F(BadInputTest, AFloodOfGarbageIsAnsweredInOrder) {
  start_server({{"RATE_LIMIT_PER_SEC", "100000"}, {"RATE_LIMIT_BURST", "100000"}});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    switch (i % 4) {
      case 0:
        alice->send_text("garbage " + std::to_string(i));
        break;
      case 1:
        alice->send_text(R"({"type":"SEEK"})");
        break;
      case 2:
        alice->send_text(nested(50));
        break;
      case 3:
        alice->send_json(msg::custom("PLAYBACK_ACK", {{"seq", i}}));
        break;
    }
  }
  for (int i = 0; i < n; ++i) {
    if (i % 4 == 3) {
      EXPECT_EQ(int_of(alice->expect("PLAYBACK_ACK"), "seq"), i);
      EXPECT_EQ(int_of(bob->expect("PLAYBACK_ACK"), "seq"), i);
    } else {
      const std::string code = str(alice->expect("ERROR"), "code");
      EXPECT_EQ(code, i % 4 == 1 ? "BAD_REQUEST" : "INVALID_JSON") << i;
    }
  }
  bob->expect_no_message();
  expect_alive(*alice);
  EXPECT_EQ(metric("tandem_messages_in_total", {{"type", "invalid"}}), n / 4 * 3);
  expect_server_healthy();
}

TEST_F(BadInputTest, AFloodWithDefaultLimitsIsContained) {
  start_server();  // 100 per second, burst 200
  auto flooder = joined("room", "flooder");
  auto bystander = joined("room", "bystander");
  flooder->expect("USER_JOINED");
  const auto start = Clock::now();
  for (int sent = 0; sent < 1000; ++sent) {
    if (!flooder->try_send_text("x")) break;  // the server may cut us off mid-flood
  }
  double seconds = 0;  // until the last processed message was answered
  int invalid = 0;
  int limited = 0;
  int code = 0;
  for (;;) {
    const WsEvent event = flooder->recv_event(kQuiet);
    if (event.kind == WsEvent::Kind::timeout) break;  // everything answered, still open
    if (event.kind == WsEvent::Kind::closed) {
      code = event.close_code;
      break;
    }
    ASSERT_TRUE(event.message.has_value());
    ASSERT_EQ(type_of(*event.message), "ERROR");
    const std::string error_code = str(*event.message, "code");
    if (error_code == "INVALID_JSON") {
      ++invalid;
      seconds = std::chrono::duration<double>(Clock::now() - start).count();
    } else {
      ASSERT_EQ(error_code, "RATE_LIMITED");
      ++limited;
    }
  }
  // Only what the bucket allows was processed: the burst plus the refill while the server
  // worked through the flood.
  EXPECT_GE(invalid, 200);
  EXPECT_LE(invalid, 200 + static_cast<int>(100 * seconds) + 10) << seconds << " s";
  EXPECT_GE(limited, 1);
  if (code != 0) {
    EXPECT_EQ(code, 1008);
  }
  bystander->expect_no_message();
  expect_server_healthy();
}

TEST_F(BadInputTest, ASustainedFloodGetsOneRateLimitedErrorAndIsClosed) {
  // A flood four times over the rate, sustained: refills land between the refused messages.
  // PROTOCOL.md: repeated abuse may close the connection with 1008; the lead's decision: a
  // flood gets one ERROR RATE_LIMITED, then 1008.
  start_server({{"RATE_LIMIT_PER_SEC", "50"}, {"RATE_LIMIT_BURST", "10"}});
  auto flooder = connect("flooder");
  int limited = 0;
  int code = 0;
  const auto deadline = Clock::now() + 4s;
  auto next_send = Clock::now();
  while (code == 0 && Clock::now() < deadline) {
    if (Clock::now() >= next_send) {
      if (!flooder->try_send_text(R"({"type":"PING"})")) break;
      next_send += 5ms;  // 200 messages per second
    }
    const WsEvent event = flooder->recv_event(
        std::max(Millis(0), std::chrono::duration_cast<Millis>(next_send - Clock::now())));
    if (event.kind == WsEvent::Kind::closed) code = event.close_code;
    if (event.kind == WsEvent::Kind::message && event.message &&
        str(*event.message, "code") == "RATE_LIMITED") {
      ++limited;
    }
  }
  while (code == 0) {
    const WsEvent event = flooder->recv_event(kQuiet);
    if (event.kind == WsEvent::Kind::timeout) break;
    if (event.kind == WsEvent::Kind::closed) code = event.close_code;
    if (event.kind == WsEvent::Kind::message && event.message &&
        str(*event.message, "code") == "RATE_LIMITED") {
      ++limited;
    }
  }
  EXPECT_EQ(limited, 1) << "RATE_LIMITED errors sent during a 4 s flood";
  EXPECT_EQ(code, 1008) << "a flood sustained at 4x the rate for 4 s was never closed";
  expect_server_healthy();
}

TEST_F(BadInputTest, TheServerSurvivesTheWholeCorpusOnOneConnectionAfterAnother) {
  start_server({{"RATE_LIMIT_PER_SEC", "100000"}, {"RATE_LIMIT_BURST", "100000"}});
  auto host = joined("room", "host");
  // Each input with what it must get: an ERROR's code, a close code, or (valid messages
  // inside odd shapes) the answer they are due.
  const std::string json_error = "ERROR INVALID_JSON";
  const std::string bad_request = "ERROR BAD_REQUEST";
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"", json_error},
      {"{", json_error},
      {"}", json_error},
      {"[", json_error},
      {"]", json_error},
      {"null", json_error},
      {"{\"type\":", json_error},
      {nested(5000), json_error},
      {nested(200, R"({"a":)", "}"), json_error},
      {R"({"type":"JOIN"})", bad_request},
      {R"({"type":"JOIN","roomId":null,"userId":null})", bad_request},
      {R"({"type":"LEAVE","extra":)" + nested(15) + "}", "close 1000"},
      {R"({"type":"OFFER","to":"corpus-user","offer":{}})", "OFFER"},  // to oneself: relayed
      {R"({"type":"ANSWER","to":"","answer":{}})", bad_request},
      {R"({"type":"ICE_CANDIDATE","to":"host"})", bad_request},
      {R"({"type":"TRANSFER_HOST","targetUserId":"nobody"})", bad_request},
      {R"({"type":"READY","targetTime":1e999})", bad_request},
      {std::string(65536, '{'), json_error},
      {std::string(65536, ' '), json_error},
      {std::string(65536, '"'), json_error},
      {"{\"type\":\"PING\",\"s\":\"" + std::string(65000, '\\') + "\"}", "PONG"},
  };
  int connection = 0;
  for (const auto& [text, expected] : corpus) {
    auto client = connect("corpus-" + std::to_string(connection++));
    join(*client, "corpus-room", "corpus-user");  // replaces the previous one
    client->try_send_text(text);
    const WsEvent event = client->recv_event();
    std::string got = event.describe();
    if (event.kind == WsEvent::Kind::closed) {
      got = "close " + std::to_string(event.close_code);
    } else if (event.kind == WsEvent::Kind::message && event.message) {
      got = type_of(*event.message);
      if (got == "ERROR") got += " " + str(*event.message, "code");
    }
    EXPECT_EQ(got, expected) << text.substr(0, 60) << " -> " << event.describe().substr(0, 200);
  }
  EXPECT_TRUE(server().running());
  expect_alive(*host);
  expect_server_healthy();
}

}  // namespace
}  // namespace tandem::test
