// encode(): every event round-trips through a real JSON parser with exactly the fields of
// PROTOCOL.md, in order, optional fields omitted when absent.
#include "protocol/command_parser.hpp"
#include "protocol/event.hpp"

#include "parse_helpers.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace tandem::protocol {
namespace {

namespace json = boost::json;

constexpr Millis kNow = 1764254420999;
constexpr std::string_view kNode = "node-a1";

json::object encode_object(const Event& event, Millis now = kNow,
                           std::string_view node_id = kNode) {
  const std::string text = encode(event, now, node_id);
  json::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  EXPECT_TRUE(value.is_object()) << text;
  EXPECT_TRUE(test::is_utf8(text)) << text;
  if (!value.is_object()) {
    return {};
  }
  return std::move(value.as_object());
}

std::vector<std::string> keys_of(const json::object& object) {
  std::vector<std::string> keys;
  for (const auto& member : object) {
    keys.emplace_back(member.key());
  }
  return keys;
}

using Keys = std::vector<std::string>;

double number_of(const json::value& value) {
  EXPECT_TRUE(value.is_number()) << json::serialize(value);
  return value.to_number<double>();
}

TEST(EncodeEvent, RoomState) {
  RoomStateEvent state;
  state.room_id = "movie-night-42";
  state.url = "https://www.netflix.com/watch/80192098";
  state.current_time = 1502.5;
  state.is_playing = true;
  state.host_user_id = "user_a";
  state.guest_control_enabled = true;
  state.users = {{"user_a", "Alice"}, {"user_b", std::nullopt}, {"user_c", R"(C "the" \ one)"}};
  const json::object object = encode_object(state);
  EXPECT_EQ(keys_of(object),
            (Keys{"type", "roomId", "url", "currentTime", "isPlaying", "hostUserId",
                  "guestControlEnabled", "users", "nodeId", "timestamp"}));
  EXPECT_EQ(object.at("type"), "ROOM_STATE");
  EXPECT_EQ(object.at("roomId"), "movie-night-42");
  EXPECT_EQ(object.at("url"), "https://www.netflix.com/watch/80192098");
  EXPECT_EQ(number_of(object.at("currentTime")), 1502.5);
  EXPECT_EQ(object.at("isPlaying"), true);
  EXPECT_EQ(object.at("hostUserId"), "user_a");
  EXPECT_EQ(object.at("guestControlEnabled"), true);
  EXPECT_EQ(object.at("nodeId").as_string(), kNode);
  EXPECT_EQ(object.at("timestamp").as_int64(), kNow);
  const json::array& users = object.at("users").as_array();
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0], json::parse(R"({"userId":"user_a","username":"Alice"})"));
  EXPECT_EQ(users[1], json::parse(R"({"userId":"user_b","username":null})"));
  EXPECT_EQ(users[2].at("username"), R"(C "the" \ one)");
  EXPECT_EQ(keys_of(users[0].as_object()), (Keys{"userId", "username"}));
}

TEST(EncodeEvent, RoomStateEmptyUrlIsNullAndNoUsersIsAnEmptyArray) {
  RoomStateEvent state;
  state.room_id = "r";
  state.host_user_id = "h";
  const json::object object = encode_object(state);
  EXPECT_TRUE(object.at("url").is_null());
  EXPECT_TRUE(object.at("users").as_array().empty());
  EXPECT_EQ(object.at("isPlaying"), false);
  EXPECT_EQ(object.at("guestControlEnabled"), false);
  EXPECT_EQ(number_of(object.at("currentTime")), 0.0);
}

TEST(EncodeEvent, UserJoined) {
  const json::object object = encode_object(UserJoinedEvent{"user_b", "peer-uuid-1", "Bob"});
  EXPECT_EQ(keys_of(object), (Keys{"type", "userId", "peerId", "username", "timestamp"}));
  EXPECT_EQ(object.at("type"), "USER_JOINED");
  EXPECT_EQ(object.at("userId"), "user_b");
  EXPECT_EQ(object.at("peerId"), "peer-uuid-1");
  EXPECT_EQ(object.at("username"), "Bob");
  EXPECT_EQ(object.at("timestamp").as_int64(), kNow);

  const json::object anonymous = encode_object(UserJoinedEvent{"user_b", "p", std::nullopt});
  EXPECT_TRUE(anonymous.at("username").is_null());
}

TEST(EncodeEvent, UserLeft) {
  const json::object object = encode_object(UserLeftEvent{"user_b", "peer-uuid-1"});
  EXPECT_EQ(keys_of(object), (Keys{"type", "userId", "peerId", "timestamp"}));
  EXPECT_EQ(object.at("type"), "USER_LEFT");
  EXPECT_EQ(object.at("userId"), "user_b");
  EXPECT_EQ(object.at("peerId"), "peer-uuid-1");
}

TEST(EncodeEvent, HostChanged) {
  const json::object object = encode_object(HostChangedEvent{"user_c"});
  EXPECT_EQ(keys_of(object), (Keys{"type", "hostUserId", "timestamp"}));
  EXPECT_EQ(object.at("type"), "HOST_CHANGED");
  EXPECT_EQ(object.at("hostUserId"), "user_c");
}

TEST(EncodeEvent, GuestControl) {
  for (const bool enabled : {true, false}) {
    const json::object object = encode_object(GuestControlEvent{enabled});
    EXPECT_EQ(keys_of(object), (Keys{"type", "enabled", "timestamp"}));
    EXPECT_EQ(object.at("type"), "GUEST_CONTROL");
    EXPECT_EQ(object.at("enabled"), enabled);
  }
}

TEST(EncodeEvent, UsernameUpdated) {
  const json::object object = encode_object(UsernameUpdatedEvent{"user_b", "Bobby"});
  EXPECT_EQ(keys_of(object), (Keys{"type", "userId", "username", "timestamp"}));
  EXPECT_EQ(object.at("type"), "USERNAME_UPDATED");
  EXPECT_EQ(object.at("username"), "Bobby");
  EXPECT_TRUE(encode_object(UsernameUpdatedEvent{"user_b", std::nullopt}).at("username").is_null());
}

TEST(EncodeEvent, PlayPauseWithEveryField) {
  const json::object object =
      encode_object(PlayPauseEvent{"user_a", Control::play, 734.217, 1764254420331.0});
  EXPECT_EQ(keys_of(object),
            (Keys{"type", "userId", "control", "currentTime", "eventTimestamp", "timestamp"}));
  EXPECT_EQ(object.at("type"), "PLAY_PAUSE");
  EXPECT_EQ(object.at("userId"), "user_a");
  EXPECT_EQ(object.at("control"), "play");
  EXPECT_EQ(number_of(object.at("currentTime")), 734.217);
  EXPECT_EQ(number_of(object.at("eventTimestamp")), 1764254420331.0);
}

TEST(EncodeEvent, PlayPauseOmitsAbsentOptionalFields) {
  const json::object object =
      encode_object(PlayPauseEvent{"user_a", Control::pause, std::nullopt, std::nullopt});
  EXPECT_EQ(keys_of(object), (Keys{"type", "userId", "control", "timestamp"}));
  EXPECT_EQ(object.at("control"), "pause");
  const json::object time_only =
      encode_object(PlayPauseEvent{"server", Control::play, 12.0, std::nullopt});
  EXPECT_EQ(keys_of(time_only), (Keys{"type", "userId", "control", "currentTime", "timestamp"}));
  const json::object stamp_only =
      encode_object(PlayPauseEvent{"server", Control::play, std::nullopt, 5.0});
  EXPECT_EQ(keys_of(stamp_only),
            (Keys{"type", "userId", "control", "eventTimestamp", "timestamp"}));
}

TEST(EncodeEvent, SeekPause) {
  const json::object object = encode_object(SeekPauseEvent{"user_a", 1502.5, 1764254460000.0});
  EXPECT_EQ(keys_of(object),
            (Keys{"type", "userId", "currentTime", "eventTimestamp", "timestamp"}));
  EXPECT_EQ(object.at("type"), "SEEK_PAUSE");
  EXPECT_EQ(number_of(object.at("currentTime")), 1502.5);
  EXPECT_EQ(number_of(object.at("eventTimestamp")), 1764254460000.0);
}

TEST(EncodeEvent, HostHeartbeat) {
  const json::object object =
      encode_object(HostHeartbeatEvent{"user_a", 1510.02, true, 1764254470000.0});
  EXPECT_EQ(keys_of(object),
            (Keys{"type", "userId", "currentTime", "isPlaying", "eventTimestamp", "timestamp"}));
  EXPECT_EQ(object.at("type"), "HOST_HEARTBEAT");
  EXPECT_EQ(number_of(object.at("currentTime")), 1510.02);
  EXPECT_EQ(object.at("isPlaying"), true);
  EXPECT_EQ(number_of(object.at("eventTimestamp")), 1764254470000.0);
}

TEST(EncodeEvent, UrlChange) {
  const json::object object =
      encode_object(UrlChangeEvent{"user_a", "https://www.netflix.com/watch/80192098", 0.0});
  EXPECT_EQ(keys_of(object), (Keys{"type", "userId", "url", "currentTime", "timestamp"}));
  EXPECT_EQ(object.at("type"), "URL_CHANGE");
  EXPECT_EQ(object.at("url"), "https://www.netflix.com/watch/80192098");
  EXPECT_EQ(number_of(object.at("currentTime")), 0.0);
}

TEST(EncodeEvent, SyncResponse) {
  const json::object object =
      encode_object(SyncResponseEvent{1509.87, true, "https://www.netflix.com/watch/1"});
  EXPECT_EQ(keys_of(object),
            (Keys{"type", "fromUserId", "currentTime", "isPlaying", "url", "timestamp"}));
  EXPECT_EQ(object.at("type"), "SYNC_RESPONSE");
  EXPECT_EQ(object.at("fromUserId"), "server");
  EXPECT_EQ(number_of(object.at("currentTime")), 1509.87);
  EXPECT_EQ(object.at("isPlaying"), true);
  EXPECT_EQ(object.at("url"), "https://www.netflix.com/watch/1");
  EXPECT_TRUE(encode_object(SyncResponseEvent{0, false, ""}).at("url").is_null());
}

TEST(EncodeEvent, Pong) {
  EXPECT_EQ(encode(PongEvent{}, kNow, kNode), R"({"type":"PONG","timestamp":1764254420999})");
}

TEST(EncodeEvent, ErrorHasMessageAndCodeButNoTimestamp) {
  const json::object object =
      encode_object(ErrorEvent{ErrorCode::pin_required, "Invalid or missing PIN"});
  EXPECT_EQ(keys_of(object), (Keys{"type", "message", "code"}));
  EXPECT_EQ(object.at("type"), "ERROR");
  EXPECT_EQ(object.at("message"), "Invalid or missing PIN");
  EXPECT_EQ(object.at("code"), "PIN_REQUIRED");
  for (const ErrorCode code :
       {ErrorCode::bad_request, ErrorCode::invalid_json, ErrorCode::not_joined,
        ErrorCode::pin_required, ErrorCode::pin_locked, ErrorCode::forbidden,
        ErrorCode::rate_limited, ErrorCode::internal}) {
    EXPECT_EQ(encode_object(ErrorEvent{code, "m"}).at("code").as_string(), to_string(code));
  }
}

TEST(EncodeEvent, ParserErrorsEncodeIntoErrorFrames) {
  const ParseResult result = parse_command(R"({"type":"SEEK","isPlaying":true})");
  ASSERT_TRUE(std::holds_alternative<ProtocolError>(result));
  const auto& error = std::get<ProtocolError>(result);
  const json::object object = encode_object(ErrorEvent{error.code, error.message});
  EXPECT_EQ(object.at("code"), "BAD_REQUEST");
  EXPECT_EQ(object.at("message"), "currentTime must be a finite number >= 0");
}

// ---------------------------------------------------------------------------------------------
// Numbers

TEST(EncodeNumbers, IntegralValuesAreWrittenAsIntegers) {
  EXPECT_EQ(encode(SeekPauseEvent{"u", 734.0, 1764254420331.0}, 5, kNode),
            R"({"type":"SEEK_PAUSE","userId":"u","currentTime":734,)"
            R"("eventTimestamp":1764254420331,"timestamp":5})");
  EXPECT_EQ(encode(SeekPauseEvent{"u", -0.0, 0.0}, 0, kNode),
            R"({"type":"SEEK_PAUSE","userId":"u","currentTime":0,)"
            R"("eventTimestamp":0,"timestamp":0})");
}

TEST(EncodeNumbers, FractionsAreWrittenShortestAndReadBackExactly) {
  EXPECT_EQ(encode(SeekPauseEvent{"u", 734.217, 0.5}, 5, kNode),
            R"({"type":"SEEK_PAUSE","userId":"u","currentTime":734.217,)"
            R"("eventTimestamp":0.5,"timestamp":5})");
  for (const double value :
       {0.1, 1.0 / 3.0, 1510.02, 1e-7, 123456789.123456, 1764254420331.5, 9007199254740993.0, 1e21,
        1.7976931348623157e308, 5e-324, -2.5, -1764254420331.0}) {
    const json::object object = encode_object(HostHeartbeatEvent{"u", value, false, value});
    EXPECT_EQ(number_of(object.at("currentTime")), value) << value;
    EXPECT_EQ(number_of(object.at("eventTimestamp")), value) << value;
  }
}

TEST(EncodeNumbers, NonFiniteValuesStillGiveValidJson) {
  for (const double value :
       {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN()}) {
    const json::object object = encode_object(SeekPauseEvent{"u", value, value});
    EXPECT_TRUE(object.at("currentTime").is_number());
  }
}

TEST(EncodeNumbers, TimestampIsAnInteger) {
  const json::object object = encode_object(PongEvent{}, std::numeric_limits<Millis>::max());
  EXPECT_EQ(object.at("timestamp").as_int64(), std::numeric_limits<Millis>::max());
}

// ---------------------------------------------------------------------------------------------
// Strings

TEST(EncodeStrings, EscapesWhatJsonRequires) {
  const std::string nasty = std::string("q\"b\\s/n\nr\rt\tb\bf\f") + '\0' + "\x01\x1f\x7f end";
  const json::object object = encode_object(UsernameUpdatedEvent{"u", nasty});
  EXPECT_EQ(object.at("username").as_string(), nasty);
  const std::string text = encode(UsernameUpdatedEvent{"u", nasty}, 1, kNode);
  EXPECT_NE(text.find(R"(q\"b\\s/n\nr\rt\tb\bf\f\u0000\u0001\u001f)"), std::string::npos) << text;
}

// The encoder checks sixteen bytes at a time, then eight, then one: every byte that needs
// escaping, at every offset in a block, word and tail, alone, in pairs and next to each
// other, between runs of plain ASCII and multi-byte UTF-8, must come back exactly (and be
// written exactly as Boost.JSON's serializer writes it).
TEST(EncodeStrings, EveryEscapeAtEveryWordOffset) {
  std::vector<std::string> specials{"\"", "\\"};
  for (char c = 0; c < 0x20; ++c) specials.emplace_back(1, c);
  const std::vector<std::string> fillers{"abcdefghijklmnopq", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xac~ "};
  for (const std::string& filler : fillers) {
    for (const std::string& special : specials) {
      for (std::size_t before = 0; before <= 40; ++before) {
        for (std::size_t after : {0, 1, 7, 9, 15, 16, 17, 30}) {
          std::string text;
          while (text.size() < before) text += filler;
          text.resize(before);
          text += special;
          while (text.size() < before + special.size() + after) text += filler;
          text.resize(before + special.size() + after);
          text += special;  // two in one word, or in the next one
          if (!test::is_utf8(text)) continue;  // a cut through a multi-byte character
          const std::string frame = encode(UsernameUpdatedEvent{"u", text}, 1, kNode);
          const json::object object = encode_object(UsernameUpdatedEvent{"u", text});
          ASSERT_EQ(object.at("username").as_string(), text) << frame;
          ASSERT_NE(frame.find(json::serialize(json::string(text))), std::string::npos) << frame;
        }
      }
    }
  }
}

// Output grows past what was reserved for it when a string is mostly escapes: 6 bytes of
// output for each control byte, in runs and alone, at the end of the text too.
TEST(EncodeStrings, ARunOfEscapesOutgrowsTheReserve) {
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    text += static_cast<char>(1 + i % 31);
    if (i % 100 == 0) text += "plain";
  }
  text += "\x01\x02";
  const std::string frame = encode(UsernameUpdatedEvent{"u", text}, 1, kNode);
  EXPECT_EQ(encode_object(UsernameUpdatedEvent{"u", text}).at("username").as_string(), text);
  EXPECT_NE(frame.find(json::serialize(json::string(text))), std::string::npos);
}

TEST(EncodeStrings, Utf8PassesThroughUnchanged) {
  const std::string name =
      "\xf0\x9f\x8e\xac \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 Jose\xcc\x81 \xe7\x94\xb0";
  const std::string text = encode(UserJoinedEvent{"u", "p", name}, 1, kNode);
  EXPECT_NE(text.find(name), std::string::npos);
  EXPECT_EQ(encode_object(UserJoinedEvent{"u", "p", name}).at("username").as_string(), name);
}

TEST(EncodeStrings, SanitizedUsernamesRoundTrip) {
  // What the parser lets through, the encoder writes back identically.
  const auto join = test::parse_as<Join>(
      R"({"type":"JOIN","roomId":"r","userId":"u","username":" \"Q\" \\ \u2028x\u0301 "})");
  ASSERT_TRUE(join);
  const json::object object = encode_object(UserJoinedEvent{"u", "p", join->username});
  EXPECT_EQ(object.at("username").as_string(), *join->username);
}

// ---------------------------------------------------------------------------------------------
// Pass-through (relays and fallback broadcasts)

TEST(EncodePassThrough, RelayKeepsTheObjectAndAddsNodeId) {
  json::object message =
      json::parse(R"({"type":"ICE_CANDIDATE","from":"a","to":"b",)"
                  R"("candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0},)"
                  R"("userId":"a","timestamp":123})")
          .as_object();
  const json::object object = encode_object(PassThroughEvent{message, false});
  EXPECT_EQ(keys_of(object),
            (Keys{"type", "from", "to", "candidate", "userId", "timestamp", "nodeId"}));
  EXPECT_EQ(object.at("nodeId").as_string(), kNode);
  // Without add_timestamp the client's own timestamp is left alone.
  EXPECT_EQ(object.at("timestamp").as_int64(), 123);
  EXPECT_EQ(object.at("candidate"), message.at("candidate"));
}

// A relayed SDP (a CRLF every ~70 bytes, each escaped to 4 bytes of output) is written into
// the one allocation sized up front: a frame that grew on the way would hold twice the
// memory its queue accounts for.
TEST(EncodePassThrough, AnEscapedSdpFitsTheFirstAllocation) {
  std::string sdp;
  for (int line = 0; line < 80; ++line) {
    sdp += "a=candidate:1 1 udp 2122260223 192.168.1.2 5400" + std::to_string(line) + " typ host\r\n";
  }
  json::object message{{"type", "OFFER"}, {"to", "b"},
                       {"offer", {{"type", "offer"}, {"sdp", sdp}}}};
  const Frame frame = encode_frame(PassThroughEvent{message, false}, kNow, kNode);
  EXPECT_EQ(json::parse(*frame).at("offer").at("sdp").as_string(), sdp);
  EXPECT_GT(frame->size(), sdp.size() + 160);    // 160 escapes
  EXPECT_LE(frame->capacity(), frame->size() * 9 / 8)
      << frame->capacity() << " bytes held for " << frame->size();
}

TEST(EncodePassThrough, FallbackGetsTimestampAndNodeIdOverwritten) {
  json::object message =
      json::parse(R"({"type":"PLAYBACK_ACK","nodeId":"forged","control":"play","timestamp":1,)"
                  R"("to":"user_a","userId":"user_b"})")
          .as_object();
  const json::object object = encode_object(PassThroughEvent{message, true});
  EXPECT_EQ(keys_of(object), (Keys{"type", "control", "to", "userId", "nodeId", "timestamp"}));
  EXPECT_EQ(object.at("nodeId").as_string(), kNode);
  EXPECT_EQ(object.at("timestamp").as_int64(), kNow);
  EXPECT_EQ(object.at("control"), "play");
}

TEST(EncodePassThrough, EveryJsonKindSurvives) {
  const std::string original =
      R"({"type":"X","n":null,"t":true,"f":false,"i":-42,"u":18446744073709551615,)"
      R"("d":2.5,"big":1e300,"s":"\"\\\n\u0001\u00e9","a":[[],{},[1,[2,[3]]]],"o":{"k":{"k":"v"}},)"
      R"("":"empty key","k\"ey":1})";
  const json::object message = json::parse(original).as_object();
  json::object expected = message;
  expected["nodeId"] = kNode;
  expected["timestamp"] = kNow;
  EXPECT_EQ(encode_object(PassThroughEvent{message, true}), expected);
}

TEST(EncodePassThrough, EmptyObject) {
  EXPECT_EQ(encode(PassThroughEvent{{}, false}, kNow, "n"), R"({"nodeId":"n"})");
  EXPECT_EQ(encode(PassThroughEvent{{}, true}, kNow, "n"),
            R"({"nodeId":"n","timestamp":1764254420999})");
}

TEST(EncodePassThrough, ParsedFallbackRoundTrip) {
  auto fallback = test::parse_as<Fallback>(
      R"({"type":"SYNC_PLAYBACK","currentTime":12.5,"userId":"forged","roomId":"r"})");
  ASSERT_TRUE(fallback);
  fallback->message["userId"] = "user_b";
  const json::object object = encode_object(PassThroughEvent{std::move(fallback->message), true});
  EXPECT_EQ(object.at("type"), "SYNC_PLAYBACK");
  EXPECT_EQ(object.at("userId"), "user_b");
  EXPECT_EQ(number_of(object.at("currentTime")), 12.5);
  EXPECT_EQ(object.at("timestamp").as_int64(), kNow);
}

// ---------------------------------------------------------------------------------------------
// event_type, encode_frame

TEST(EventType, NamesEveryEvent) {
  EXPECT_EQ(event_type(RoomStateEvent{}), "ROOM_STATE");
  EXPECT_EQ(event_type(UserJoinedEvent{}), "USER_JOINED");
  EXPECT_EQ(event_type(UserLeftEvent{}), "USER_LEFT");
  EXPECT_EQ(event_type(HostChangedEvent{}), "HOST_CHANGED");
  EXPECT_EQ(event_type(GuestControlEvent{}), "GUEST_CONTROL");
  EXPECT_EQ(event_type(UsernameUpdatedEvent{}), "USERNAME_UPDATED");
  EXPECT_EQ(event_type(PlayPauseEvent{}), "PLAY_PAUSE");
  EXPECT_EQ(event_type(SeekPauseEvent{}), "SEEK_PAUSE");
  EXPECT_EQ(event_type(HostHeartbeatEvent{}), "HOST_HEARTBEAT");
  EXPECT_EQ(event_type(UrlChangeEvent{}), "URL_CHANGE");
  EXPECT_EQ(event_type(SyncResponseEvent{}), "SYNC_RESPONSE");
  EXPECT_EQ(event_type(PongEvent{}), "PONG");
  EXPECT_EQ(event_type(ErrorEvent{}), "ERROR");
  EXPECT_EQ(event_type(PassThroughEvent{json::object{{"type", "PLAYBACK_ACK"}}, true}),
            "PLAYBACK_ACK");
  EXPECT_EQ(event_type(PassThroughEvent{json::object{{"type", 5}}, true}), "");
  EXPECT_EQ(event_type(PassThroughEvent{}), "");
}

TEST(EventType, MatchesTheEncodedType) {
  const Event events[] = {
      RoomStateEvent{},     UserJoinedEvent{},
      UserLeftEvent{},      HostChangedEvent{},
      GuestControlEvent{},  UsernameUpdatedEvent{},
      PlayPauseEvent{},     SeekPauseEvent{},
      HostHeartbeatEvent{}, UrlChangeEvent{},
      SyncResponseEvent{},  PongEvent{},
      ErrorEvent{},         PassThroughEvent{json::object{{"type", "PLAYBACK_ACK"}}, true}};
  for (const Event& event : events) {
    EXPECT_EQ(encode_object(event).at("type").as_string(), event_type(event));
  }
}

TEST(EncodeFrame, SameBytesAsEncode) {
  const Event event = UserJoinedEvent{"user_b", "peer", "Bob"};
  const Frame frame = encode_frame(event, kNow, kNode);
  ASSERT_NE(frame, nullptr);
  EXPECT_EQ(*frame, encode(event, kNow, kNode));
}

}  // namespace
}  // namespace tandem::protocol
