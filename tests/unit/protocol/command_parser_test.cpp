#include "protocol/command_parser.hpp"

#include "parse_helpers.hpp"
#include "protocol/limits.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <string>

namespace tandem::protocol {
namespace {

using test::expect_bad_request;
using test::expect_error;
using test::expect_invalid_json;
using test::parse_as;

using namespace std::string_literals;
using namespace std::string_view_literals;

// A JOIN with the given extra members after the valid ids.
std::string join_with(std::string_view extra) {
  return R"({"type":"JOIN","roomId":"room-1","userId":"user_1")" + std::string(extra) + "}";
}

// ---------------------------------------------------------------------------------------------
// Framing: not JSON, not an object, too deep, not UTF-8.

TEST(ParseJson, MalformedTextIsInvalidJson) {
  for (const std::string_view text :
       {""sv, " "sv, "{"sv, "}"sv, R"({"type":)"sv, R"({"type":"PING")"sv, "not json"sv,
        R"({'type':'PING'})"sv, R"({type:"PING"})"sv, R"({"type":"PING",})"sv,
        R"({"type":"PING"} x)"sv, R"({"type":"PING"}{"type":"PING"})"sv,
        R"({"type":"PING"/*c*/})"sv, R"({"type":"PI)"sv, R"({"a":01,"type":"PING"})"sv,
        R"({"a":NaN,"type":"PING"})"sv, R"({"a":Infinity,"type":"PING"})"sv,
        R"({"a":.5,"type":"PING"})"sv, "\xef\xbb\xbf{\"type\":\"PING\"}"sv}) {
    SCOPED_TRACE(std::string(text));
    expect_invalid_json(text);
  }
}

TEST(ParseJson, NonObjectsAreInvalidJson) {
  for (const std::string_view text : {"[]"sv, R"([{"type":"PING"}])"sv, R"("PING")"sv, "42"sv,
                                      "null"sv, "true"sv, "-1.5"sv, "[1,2,3]"sv}) {
    expect_error(text, ErrorCode::invalid_json, "object");
  }
}

TEST(ParseJson, SurroundingWhiteSpaceIsFine) {
  EXPECT_TRUE(parse_as<Ping>(" \r\n\t{\"type\":\"PING\"} \n"));
}

// Builds {"type":"X","d":[[...]]} with `arrays` nested arrays: total depth arrays + 1.
std::string nested(std::size_t arrays) {
  return R"({"type":"NESTED","d":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
}

TEST(ParseJson, NestingUpToTheLimitIsAccepted) {
  const auto fallback = parse_as<Fallback>(nested(kMaxJsonDepth - 1));
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->type, "NESTED");
}

TEST(ParseJson, NestingBeyondTheLimitIsInvalidJson) {
  expect_error(nested(kMaxJsonDepth), ErrorCode::invalid_json, "nested too deeply");
  // Deep enough to overflow the stack of a naive recursive parser.
  expect_invalid_json(nested(100000));
  expect_invalid_json(std::string(1000000, '['));
  std::string objects;
  for (int i = 0; i < 20; ++i) {
    objects += R"({"a":)";
  }
  objects += "1" + std::string(20, '}');
  expect_invalid_json(objects);
}

TEST(ParseJson, InvalidUtf8IsInvalidJson) {
  for (const std::string_view bad : {"\xff"sv, "\xc0\xaf"sv, "\xed\xa0\x80"sv, "\xe2\x82"sv,
                                     "\x80"sv, "\xf4\x90\x80\x80"sv, "\xf8\x88\x80\x80\x80"sv}) {
    const std::string text = join_with(R"(,"username":"A)" + std::string(bad) + R"(")");
    SCOPED_TRACE(text);
    expect_invalid_json(text);
  }
  // Outside strings too.
  expect_invalid_json("{\"type\":\"PING\"\xff}");
}

TEST(ParseJson, LoneSurrogateEscapesAreInvalidJson) {
  expect_invalid_json(join_with(R"(,"username":"\ud800")"));
  expect_invalid_json(join_with(R"(,"username":"\udc00x")"));
  // A proper pair is fine.
  const auto join = parse_as<Join>(join_with(R"(,"username":"\ud83c\udfac")"));
  ASSERT_TRUE(join);
  EXPECT_EQ(join->username, "\xf0\x9f\x8e\xac");
}

TEST(ParseJson, DuplicateKeysKeepTheLastValueLikeJavaScript) {
  const auto seek =
      parse_as<Seek>(R"({"type":"SEEK","currentTime":-5,"currentTime":10,"isPlaying":true})");
  ASSERT_TRUE(seek);
  EXPECT_EQ(seek->current_time, 10);
}

TEST(ParseJson, MegabyteStringValueParsesCleanly) {
  const std::string big(1 << 20, 'x');
  const auto fallback = parse_as<Fallback>(R"({"type":"CHAT","text":")" + big + R"("})");
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->message.at("text").as_string().size(), big.size());

  // A megabyte username is cut, not rejected.
  const auto join = parse_as<Join>(join_with(R"(,"username":")" + big + R"(")"));
  ASSERT_TRUE(join);
  EXPECT_EQ(join->username, std::string(kMaxUsernameChars, 'x'));

  // A megabyte string where an identifier belongs is refused with a short message.
  const std::string text = R"({"type":"JOIN","roomId":")" + big + R"(","userId":"u"})";
  const auto error = test::parse_error(text);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, ErrorCode::bad_request);
  EXPECT_LT(error->message.size(), 200u);

  // Unterminated: fails cleanly.
  expect_invalid_json(R"({"type":"CHAT","text":")" + big);
}

TEST(ParseJson, MegabyteOfEscapesParsesCleanly) {
  std::string escapes;
  for (int i = 0; i < (1 << 18); ++i) {
    escapes += "\\u00e9";
  }
  const auto fallback = parse_as<Fallback>(R"({"type":"CHAT","text":")" + escapes + R"("})");
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->message.at("text").as_string().size(), 2u * (1u << 18));
}

// ---------------------------------------------------------------------------------------------
// "type"

TEST(ParseType, MissingOrNonStringTypeIsBadRequest) {
  for (const std::string_view text :
       {"{}"sv, R"({"Type":"PING"})"sv, R"({"type":null})"sv, R"({"type":1})"sv,
        R"({"type":true})"sv, R"({"type":["PING"]})"sv, R"({"type":{"name":"PING"}})"sv}) {
    expect_bad_request(text, "type");
  }
}

TEST(ParseType, UnknownWellFormedTypesBecomeFallbacks) {
  for (const std::string_view type : {"PLAYBACK_ACK"sv, "SYNC_PLAYBACK"sv, "SYNC_RESPONSE"sv, "x"sv,
                                      "join"sv, "Ping"sv, "_"sv, "A1_b2"sv}) {
    const std::string text =
        R"({"type":")" + std::string(type) + R"(","to":"u1","n":[1,{"k":null}]})";
    const auto fallback = parse_as<Fallback>(text);
    ASSERT_TRUE(fallback) << type;
    EXPECT_EQ(fallback->type, type);
    // The whole object is kept as sent.
    EXPECT_EQ(boost::json::serialize(fallback->message), text);
  }
  const std::string longest(kMaxTypeLength, 'T');
  EXPECT_TRUE(parse_as<Fallback>(R"({"type":")" + longest + R"("})"));
}

TEST(ParseType, ServerOnlyTypesCannotBeBroadcastByClients) {
  for (const std::string_view type :
       {"ROOM_STATE"sv, "USER_JOINED"sv, "USER_LEFT"sv, "HOST_CHANGED"sv, "GUEST_CONTROL"sv,
        "USERNAME_UPDATED"sv, "SEEK_PAUSE"sv, "PONG"sv, "ERROR"sv}) {
    expect_bad_request(R"({"type":")" + std::string(type) + R"(","hostUserId":"mallory"})",
                       "reserved");
  }
}

TEST(ParseType, MalformedTypesAreBadRequest) {
  for (const std::string_view type :
       {""sv, "PLAY PAUSE"sv, "PLAY-PAUSE"sv, "a.b"sv, "\u00c4BC"sv, R"(PING\n)"sv, "<script>"sv}) {
    expect_bad_request(R"({"type":")" + std::string(type) + R"("})", "type");
  }
  expect_bad_request(R"({"type":")" + std::string(kMaxTypeLength + 1, 'T') + R"("})", "type");
}

TEST(ParseType, CommandTypeNamesEveryCommand) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"type":"JOIN","roomId":"r","userId":"u"})", "JOIN"},
      {R"({"type":"LEAVE"})", "LEAVE"},
      {R"({"type":"PING"})", "PING"},
      {R"({"type":"UPDATE_USERNAME","username":"a"})", "UPDATE_USERNAME"},
      {R"({"type":"TOGGLE_GUEST_CONTROL","enabled":true})", "TOGGLE_GUEST_CONTROL"},
      {R"({"type":"TRANSFER_HOST","targetUserId":"u"})", "TRANSFER_HOST"},
      {R"({"type":"PLAY_PAUSE","control":"play"})", "PLAY_PAUSE"},
      {R"({"type":"SEEK","currentTime":1,"isPlaying":false})", "SEEK"},
      {R"({"type":"READY"})", "READY"},
      {R"({"type":"HOST_HEARTBEAT","currentTime":1,"isPlaying":false})", "HOST_HEARTBEAT"},
      {R"({"type":"POSITION_UPDATE","currentTime":1,"isPlaying":false})", "POSITION_UPDATE"},
      {R"({"type":"URL_CHANGE","url":"https://x.y"})", "URL_CHANGE"},
      {R"({"type":"REQUEST_SYNC"})", "REQUEST_SYNC"},
      {R"({"type":"OFFER","to":"u","offer":{}})", "OFFER"},
      {R"({"type":"ANSWER","to":"u","answer":{}})", "ANSWER"},
      {R"({"type":"ICE_CANDIDATE","to":"u","candidate":{}})", "ICE_CANDIDATE"},
      {R"({"type":"PLAYBACK_ACK"})", "PLAYBACK_ACK"},
  };
  for (const auto& [text, type] : cases) {
    ParseResult result = parse_command(text);
    ASSERT_TRUE(std::holds_alternative<Command>(result)) << text;
    EXPECT_EQ(command_type(std::get<Command>(result)), type);
  }
}

// ---------------------------------------------------------------------------------------------
// JOIN

TEST(ParseJoin, FullJoin) {
  const auto join =
      parse_as<Join>(R"({"type":"JOIN","roomId":"movie-night-42","userId":"user_k2x9f0q1v7",)"
                     R"("username":"  Alice ","pin":"4821","timestamp":1764254400000})");
  ASSERT_TRUE(join);
  EXPECT_EQ(join->room_id, "movie-night-42");
  EXPECT_EQ(join->user_id, "user_k2x9f0q1v7");
  EXPECT_EQ(join->username, "Alice");
  EXPECT_EQ(join->pin, "4821");
}

TEST(ParseJoin, MinimalJoin) {
  const auto join = parse_as<Join>(R"({"type":"JOIN","roomId":"r","userId":"u"})");
  ASSERT_TRUE(join);
  EXPECT_EQ(join->room_id, "r");
  EXPECT_EQ(join->user_id, "u");
  EXPECT_EQ(join->username, std::nullopt);
  EXPECT_EQ(join->pin, std::nullopt);
}

TEST(ParseJoin, RoomIdRules) {
  EXPECT_TRUE(
      parse_as<Join>(R"({"type":"JOIN","userId":"u","roomId":")" + std::string(50, 'r') + R"("})"));
  expect_bad_request(R"({"type":"JOIN","userId":"u","roomId":")" + std::string(51, 'r') + R"("})",
                     "roomId");
  for (const std::string_view value :
       {R"("")"sv, R"("room 1")"sv, R"("room/1")"sv, R"("r\u00e4um")"sv, R"("a.b")"sv, "42"sv,
        "null"sv, "true"sv, R"(["r"])"sv, R"({"id":"r"})"sv}) {
    expect_bad_request(R"({"type":"JOIN","userId":"u","roomId":)" + std::string(value) + "}",
                       "roomId");
  }
  expect_bad_request(R"({"type":"JOIN","userId":"u"})", "roomId");
}

TEST(ParseJoin, UserIdRules) {
  EXPECT_TRUE(parse_as<Join>(R"({"type":"JOIN","roomId":"r","userId":")" + std::string(100, 'u') +
                             R"("})"));
  expect_bad_request(R"({"type":"JOIN","roomId":"r","userId":")" + std::string(101, 'u') + R"("})",
                     "userId");
  for (const std::string_view value :
       {R"("")"sv, R"("user 1")"sv, R"("user@x")"sv, "7"sv, "null"sv, "false"sv}) {
    expect_bad_request(R"({"type":"JOIN","roomId":"r","userId":)" + std::string(value) + "}",
                       "userId");
  }
  expect_bad_request(R"({"type":"JOIN","roomId":"r"})", "userId");
}

// "server" speaks for the server (the ready gate's PLAY_PAUSE, SYNC_RESPONSE's fromUserId):
// a member by that name could pass its own messages off as the server's.
TEST(ParseJoin, TheServersUserIdIsReserved) {
  expect_bad_request(R"({"type":"JOIN","roomId":"r","userId":"server"})", "reserved");
  EXPECT_TRUE(parse_as<Join>(R"({"type":"JOIN","roomId":"r","userId":"Server"})"));
  EXPECT_TRUE(parse_as<Join>(R"({"type":"JOIN","roomId":"r","userId":"server2"})"));
}

TEST(ParseJoin, UsernameFormatCharactersAndMarkStacksAreRemoved) {
  // As JSON escapes: U+202E, U+200B, U+2066/U+2069, and 100 combining marks.
  std::string marks;
  for (int i = 0; i < 100; ++i) marks += "\\u0301";
  const auto join = parse_as<Join>(
      join_with(R"(,"username":"\u2066B\u202eo\u200bb\u2069 Z)" + marks + R"(")"));
  ASSERT_TRUE(join);
  EXPECT_EQ(join->username, "Bob Z\u0301\u0301\u0301");
}

TEST(ParseJoin, UsernameIsSanitized) {
  const auto join = parse_as<Join>(join_with(R"(,"username":"\u0000 \t B\u0007ob \u3000")"));
  ASSERT_TRUE(join);
  EXPECT_EQ(join->username, "Bob");

  const auto long_name =
      parse_as<Join>(join_with(R"(,"username":")" + std::string(80, 'n') + R"(")"));
  ASSERT_TRUE(long_name);
  EXPECT_EQ(long_name->username, std::string(kMaxUsernameChars, 'n'));
}

TEST(ParseJoin, BlankOrNullUsernameIsAbsent) {
  for (const std::string_view value : {R"("")"sv, R"("   ")"sv, R"("\n\u0001")"sv, "null"sv}) {
    const auto join = parse_as<Join>(join_with(R"(,"username":)" + std::string(value)));
    ASSERT_TRUE(join) << value;
    EXPECT_EQ(join->username, std::nullopt) << value;
  }
}

TEST(ParseJoin, NonStringUsernameIsBadRequest) {
  for (const std::string_view value : {"42"sv, "true"sv, R"(["Bob"])"sv, R"({"n":"Bob"})"sv}) {
    expect_bad_request(join_with(R"(,"username":)" + std::string(value)), "username");
  }
}

TEST(ParseJoin, PinAsString) {
  for (const std::string_view pin : {"0000"sv, "4821"sv, "000123"sv, "123456789012"sv}) {
    const auto join = parse_as<Join>(join_with(R"(,"pin":")" + std::string(pin) + R"(")"));
    ASSERT_TRUE(join);
    EXPECT_EQ(join->pin, pin);
  }
}

TEST(ParseJoin, EmptyOrNullPinIsAbsent) {
  for (const std::string_view value : {R"("")"sv, "null"sv}) {
    const auto join = parse_as<Join>(join_with(R"(,"pin":)" + std::string(value)));
    ASSERT_TRUE(join);
    EXPECT_EQ(join->pin, std::nullopt);
  }
}

TEST(ParseJoin, PinAsIntegerBecomesItsDigits) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"4821", "4821"}, {"1000", "1000"}, {"999999999999", "999999999999"}};
  for (const auto& [json, digits] : cases) {
    const auto join = parse_as<Join>(join_with(R"(,"pin":)" + std::string(json)));
    ASSERT_TRUE(join) << json;
    EXPECT_EQ(join->pin, digits);
  }
}

TEST(ParseJoin, MalformedPinIsBadRequest) {
  for (const std::string_view value :
       {R"("123")"sv, R"("1234567890123")"sv, R"("12a4")"sv, R"(" 1234")"sv, R"("-123")"sv,
        R"("12.34")"sv, R"("\uff11\uff12\uff13\uff14")"sv,
        // integers: too few or too many digits, negative, fractional, exponent, huge
        "123"sv, "0"sv, "1000000000000"sv, "-1234"sv, "4821.0"sv, "4.821e3"sv, "48.21"sv,
        "18446744073709551615"sv, "1e400"sv,
        // other types
        "true"sv, R"(["4821"])"sv, R"({"pin":"4821"})"sv}) {
    expect_bad_request(join_with(R"(,"pin":)" + std::string(value)), "pin");
  }
}

TEST(ParseJoin, FirstFailingFieldIsReported) {
  expect_bad_request(R"({"type":"JOIN","roomId":"bad room","userId":"bad user"})", "roomId");
}

// ---------------------------------------------------------------------------------------------
// LEAVE, PING: no fields; userId/roomId after JOIN are ignored, never validated.

TEST(ParseSimple, LeaveAndPingIgnoreTheirFields) {
  EXPECT_TRUE(parse_as<Leave>(R"({"type":"LEAVE"})"));
  EXPECT_TRUE(parse_as<Leave>(
      R"({"type":"LEAVE","userId":"not a valid id!","roomId":42,"timestamp":"x"})"));
  EXPECT_TRUE(parse_as<Ping>(R"({"type":"PING"})"));
  EXPECT_TRUE(parse_as<Ping>(R"({"type":"PING","userId":null,"timestamp":1e400})"));
}

TEST(ParseSimple, IdsInsideNonJoinMessagesAreNotValidated) {
  EXPECT_TRUE(parse_as<PlayPause>(
      R"({"type":"PLAY_PAUSE","control":"play","userId":"forged user!","roomId":[1]})"));
  EXPECT_TRUE(parse_as<Seek>(
      R"({"type":"SEEK","currentTime":1,"isPlaying":true,"userId":123,"roomId":""})"));
}

// ---------------------------------------------------------------------------------------------
// UPDATE_USERNAME

TEST(ParseUpdateUsername, StringIsSanitized) {
  const auto update = parse_as<UpdateUsername>(
      R"({"type":"UPDATE_USERNAME",)"
      R"x("username":"  Bob (living room TV, upstairs, the one with the cat on it)"})x");
  ASSERT_TRUE(update);
  EXPECT_EQ(update->username, "Bob (living room TV, upstairs, the one with the ca");
}

TEST(ParseUpdateUsername, NullOrBlankClearsTheName) {
  for (const std::string_view value : {"null"sv, R"("")"sv, R"("  \u00a0 ")"sv}) {
    const auto update = parse_as<UpdateUsername>(R"({"type":"UPDATE_USERNAME","username":)" +
                                                 std::string(value) + "}");
    ASSERT_TRUE(update) << value;
    EXPECT_EQ(update->username, std::nullopt);
  }
}

TEST(ParseUpdateUsername, MissingOrNonStringIsBadRequest) {
  expect_bad_request(R"({"type":"UPDATE_USERNAME"})", "username");
  for (const std::string_view value : {"1"sv, "false"sv, "[]"sv, "{}"sv}) {
    expect_bad_request(R"({"type":"UPDATE_USERNAME","username":)" + std::string(value) + "}",
                       "username");
  }
}

// ---------------------------------------------------------------------------------------------
// TOGGLE_GUEST_CONTROL, TRANSFER_HOST

TEST(ParseToggleGuestControl, EnabledBoolean) {
  const auto on = parse_as<ToggleGuestControl>(R"({"type":"TOGGLE_GUEST_CONTROL","enabled":true})");
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->enabled);
  const auto off =
      parse_as<ToggleGuestControl>(R"({"type":"TOGGLE_GUEST_CONTROL","enabled":false})");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->enabled);
}

TEST(ParseToggleGuestControl, EnabledIsRequiredAndBoolean) {
  expect_bad_request(R"({"type":"TOGGLE_GUEST_CONTROL"})", "enabled");
  for (const std::string_view value : {"null"sv, R"("true")"sv, "1"sv, "0"sv, "[]"sv}) {
    expect_bad_request(R"({"type":"TOGGLE_GUEST_CONTROL","enabled":)" + std::string(value) + "}",
                       "enabled");
  }
}

TEST(ParseTransferHost, TargetUserId) {
  const auto transfer =
      parse_as<TransferHost>(R"({"type":"TRANSFER_HOST","targetUserId":"user_3hd82mzt0p"})");
  ASSERT_TRUE(transfer);
  EXPECT_EQ(transfer->target_user_id, "user_3hd82mzt0p");
}

TEST(ParseTransferHost, TargetUserIdIsRequiredAndValid) {
  expect_bad_request(R"({"type":"TRANSFER_HOST"})", "targetUserId");
  expect_bad_request(
      R"({"type":"TRANSFER_HOST","targetUserId":")" + std::string(101, 'u') + R"("})",
      "targetUserId");
  for (const std::string_view value : {"null"sv, R"("")"sv, R"("a b")"sv, "12"sv}) {
    expect_bad_request(R"({"type":"TRANSFER_HOST","targetUserId":)" + std::string(value) + "}",
                       "targetUserId");
  }
}

// ---------------------------------------------------------------------------------------------
// PLAY_PAUSE

TEST(ParsePlayPause, PlayWithAllFields) {
  const auto command =
      parse_as<PlayPause>(R"({"type":"PLAY_PAUSE","control":"play","currentTime":734.217,)"
                          R"("eventTimestamp":1764254420331})");
  ASSERT_TRUE(command);
  EXPECT_EQ(command->control, Control::play);
  EXPECT_EQ(command->current_time, 734.217);
  EXPECT_EQ(command->event_timestamp, 1764254420331.0);
}

TEST(ParsePlayPause, PauseWithoutOptionalFields) {
  const auto command = parse_as<PlayPause>(R"({"type":"PLAY_PAUSE","control":"pause"})");
  ASSERT_TRUE(command);
  EXPECT_EQ(command->control, Control::pause);
  EXPECT_EQ(command->current_time, std::nullopt);
  EXPECT_EQ(command->event_timestamp, std::nullopt);
}

TEST(ParsePlayPause, NullOptionalFieldsAreAbsent) {
  const auto command = parse_as<PlayPause>(
      R"({"type":"PLAY_PAUSE","control":"play","currentTime":null,"eventTimestamp":null})");
  ASSERT_TRUE(command);
  EXPECT_EQ(command->current_time, std::nullopt);
  EXPECT_EQ(command->event_timestamp, std::nullopt);
}

TEST(ParsePlayPause, NumberFormsAccepted) {
  const std::pair<std::string_view, double> cases[] = {
      {"0", 0.0},
      {"-0", 0.0},
      {"0.0", 0.0},
      {"1e3", 1000.0},
      {"7", 7.0},
      {"1.5E+2", 150.0},
      {"1e308", 1e308},
      {"18446744073709551615", 18446744073709551615.0},  // uint64: finite, accepted
  };
  for (const auto& [json, expected] : cases) {
    const auto command = parse_as<PlayPause>(
        R"({"type":"PLAY_PAUSE","control":"play","currentTime":)" + std::string(json) + "}");
    ASSERT_TRUE(command) << json;
    EXPECT_EQ(command->current_time, expected) << json;
  }
}

TEST(ParsePlayPause, ControlRules) {
  expect_bad_request(R"({"type":"PLAY_PAUSE"})", "control");
  for (const std::string_view value :
       {R"("PLAY")"sv, R"("stop")"sv, R"("")"sv, R"("play ")"sv, "1"sv, "true"sv, "null"sv}) {
    expect_bad_request(R"({"type":"PLAY_PAUSE","control":)" + std::string(value) + "}", "control");
  }
}

TEST(ParsePlayPause, CurrentTimeRules) {
  for (const std::string_view value : {"-1"sv, "-0.001"sv, "-1e400"sv, "1e400"sv, R"("734")"sv,
                                       "true"sv, "[]"sv, "{}"sv, "-9223372036854775808"sv}) {
    SCOPED_TRACE(std::string(value));
    const auto error = test::parse_error(R"({"type":"PLAY_PAUSE","control":"play","currentTime":)" +
                                         std::string(value) + "}");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, ErrorCode::bad_request);
    EXPECT_EQ(error->message, "currentTime must be a finite number >= 0");
  }
}

TEST(ParsePlayPause, EventTimestampRules) {
  // Any finite number, negative included (client clocks are what they are).
  const auto negative =
      parse_as<PlayPause>(R"({"type":"PLAY_PAUSE","control":"play","eventTimestamp":-5.5})");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->event_timestamp, -5.5);
  for (const std::string_view value : {"1e400"sv, "-1e400"sv, R"("1764254420331")"sv, "false"sv}) {
    SCOPED_TRACE(std::string(value));
    const auto error = test::parse_error(
        R"({"type":"PLAY_PAUSE","control":"play","eventTimestamp":)" + std::string(value) + "}");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->message, "eventTimestamp must be a finite number");
  }
}

// ---------------------------------------------------------------------------------------------
// SEEK, READY, HOST_HEARTBEAT, POSITION_UPDATE

TEST(ParseSeek, Valid) {
  const auto seek = parse_as<Seek>(
      R"({"type":"SEEK","currentTime":1502.5,"isPlaying":true,"eventTimestamp":1764254460000})");
  ASSERT_TRUE(seek);
  EXPECT_EQ(seek->current_time, 1502.5);
  EXPECT_TRUE(seek->is_playing);
  EXPECT_EQ(seek->event_timestamp, 1764254460000.0);

  const auto minimal = parse_as<Seek>(R"({"type":"SEEK","currentTime":0,"isPlaying":false})");
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->current_time, 0);
  EXPECT_FALSE(minimal->is_playing);
  EXPECT_EQ(minimal->event_timestamp, std::nullopt);
}

TEST(ParseSeek, Invalid) {
  expect_bad_request(R"({"type":"SEEK","isPlaying":true})", "currentTime");
  expect_bad_request(R"({"type":"SEEK","currentTime":null,"isPlaying":true})", "currentTime");
  expect_bad_request(R"({"type":"SEEK","currentTime":-3,"isPlaying":true})", "currentTime");
  expect_bad_request(R"({"type":"SEEK","currentTime":"12","isPlaying":true})", "currentTime");
  expect_bad_request(R"({"type":"SEEK","currentTime":1e999,"isPlaying":true})", "currentTime");
  expect_bad_request(R"({"type":"SEEK","currentTime":1})", "isPlaying");
  expect_bad_request(R"({"type":"SEEK","currentTime":1,"isPlaying":"true"})", "isPlaying");
  expect_bad_request(R"({"type":"SEEK","currentTime":1,"isPlaying":1})", "isPlaying");
  expect_bad_request(R"({"type":"SEEK","currentTime":1,"isPlaying":true,"eventTimestamp":"now"})",
                     "eventTimestamp");
}

TEST(ParseReady, TargetTimeIsOptional) {
  const auto bare = parse_as<Ready>(R"({"type":"READY"})");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->target_time, std::nullopt);
  const auto with_null = parse_as<Ready>(R"({"type":"READY","targetTime":null})");
  ASSERT_TRUE(with_null);
  EXPECT_EQ(with_null->target_time, std::nullopt);
  const auto with_time = parse_as<Ready>(R"({"type":"READY","targetTime":1502.5})");
  ASSERT_TRUE(with_time);
  EXPECT_EQ(with_time->target_time, 1502.5);
}

TEST(ParseReady, TargetTimeRules) {
  for (const std::string_view value : {"-1"sv, "1e400"sv, R"("1502.5")"sv, "true"sv}) {
    expect_bad_request(R"({"type":"READY","targetTime":)" + std::string(value) + "}",
                       "targetTime must be a finite number >= 0");
  }
}

TEST(ParseHostHeartbeat, Valid) {
  const auto heartbeat =
      parse_as<HostHeartbeat>(R"({"type":"HOST_HEARTBEAT","currentTime":1510.02,"isPlaying":true,)"
                              R"("eventTimestamp":1764254470000})");
  ASSERT_TRUE(heartbeat);
  EXPECT_EQ(heartbeat->current_time, 1510.02);
  EXPECT_TRUE(heartbeat->is_playing);
  EXPECT_EQ(heartbeat->event_timestamp, 1764254470000.0);
  const auto minimal =
      parse_as<HostHeartbeat>(R"({"type":"HOST_HEARTBEAT","currentTime":3,"isPlaying":false})");
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->event_timestamp, std::nullopt);
}

TEST(ParseHostHeartbeat, Invalid) {
  expect_bad_request(R"({"type":"HOST_HEARTBEAT","isPlaying":true})", "currentTime");
  expect_bad_request(R"({"type":"HOST_HEARTBEAT","currentTime":-1,"isPlaying":true})",
                     "currentTime");
  expect_bad_request(R"({"type":"HOST_HEARTBEAT","currentTime":1})", "isPlaying");
  expect_bad_request(
      R"({"type":"HOST_HEARTBEAT","currentTime":1,"isPlaying":true,"eventTimestamp":{}})",
      "eventTimestamp");
}

TEST(ParsePositionUpdate, Valid) {
  const auto update = parse_as<PositionUpdate>(
      R"({"type":"POSITION_UPDATE","currentTime":1509.87,"isPlaying":true})");
  ASSERT_TRUE(update);
  EXPECT_EQ(update->current_time, 1509.87);
  EXPECT_TRUE(update->is_playing);
  // 0 parses; ignoring it is the room's business.
  EXPECT_TRUE(
      parse_as<PositionUpdate>(R"({"type":"POSITION_UPDATE","currentTime":0,"isPlaying":false})"));
}

TEST(ParsePositionUpdate, Invalid) {
  expect_bad_request(R"({"type":"POSITION_UPDATE","isPlaying":true})", "currentTime");
  expect_bad_request(R"({"type":"POSITION_UPDATE","currentTime":"1","isPlaying":true})",
                     "currentTime");
  expect_bad_request(R"({"type":"POSITION_UPDATE","currentTime":1,"isPlaying":null})", "isPlaying");
}

// ---------------------------------------------------------------------------------------------
// URL_CHANGE, REQUEST_SYNC

TEST(ParseUrlChange, Valid) {
  const auto change = parse_as<UrlChange>(
      R"({"type":"URL_CHANGE","url":"https://www.netflix.com/watch/80192098","currentTime":0})");
  ASSERT_TRUE(change);
  EXPECT_EQ(change->url, "https://www.netflix.com/watch/80192098");
  EXPECT_EQ(change->current_time, 0.0);
  const auto no_time = parse_as<UrlChange>(R"({"type":"URL_CHANGE","url":"HTTP://Example.com/a"})");
  ASSERT_TRUE(no_time);
  EXPECT_EQ(no_time->url, "HTTP://Example.com/a");
  EXPECT_EQ(no_time->current_time, std::nullopt);
  // An escaped slash is still a slash once parsed.
  const auto escaped = parse_as<UrlChange>(R"({"type":"URL_CHANGE","url":"https:\/\/x.y\/z"})");
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->url, "https://x.y/z");
}

TEST(ParseUrlChange, UrlRules) {
  expect_bad_request(R"({"type":"URL_CHANGE"})", "url");
  for (const std::string_view value :
       {"null"sv, "42"sv, R"("")"sv, R"("ftp://x.y")"sv, R"x("javascript:alert(1)")x"sv,
        R"("https://")"sv, R"("https://a b")"sv, R"("https://a\nb")"sv, R"("https://a\u0000")"sv,
        R"("netflix.com/watch/1")"sv}) {
    expect_bad_request(R"({"type":"URL_CHANGE","url":)" + std::string(value) + "}", "url");
  }
  const std::string prefix = "https://example.com/";
  EXPECT_TRUE(parse_as<UrlChange>(R"({"type":"URL_CHANGE","url":")" + prefix +
                                  std::string(kMaxUrlLength - prefix.size(), 'a') + R"("})"));
  expect_bad_request(R"({"type":"URL_CHANGE","url":")" + prefix +
                         std::string(kMaxUrlLength - prefix.size() + 1, 'a') + R"("})",
                     "url");
}

TEST(ParseUrlChange, CurrentTimeRules) {
  expect_bad_request(R"({"type":"URL_CHANGE","url":"https://x.y","currentTime":-1})",
                     "currentTime");
  expect_bad_request(R"({"type":"URL_CHANGE","url":"https://x.y","currentTime":"0"})",
                     "currentTime");
}

TEST(ParseRequestSync, RespectAutoPlayDefaultsToFalse) {
  const std::pair<std::string_view, bool> cases[] = {
      {R"({"type":"REQUEST_SYNC"})", false},
      {R"({"type":"REQUEST_SYNC","respectAutoPlay":null})", false},
      {R"({"type":"REQUEST_SYNC","respectAutoPlay":false})", false},
      {R"({"type":"REQUEST_SYNC","respectAutoPlay":true})", true},
  };
  for (const auto& [text, expected] : cases) {
    const auto sync = parse_as<RequestSync>(text);
    ASSERT_TRUE(sync) << text;
    EXPECT_EQ(sync->respect_auto_play, expected) << text;
  }
  expect_bad_request(R"({"type":"REQUEST_SYNC","respectAutoPlay":"yes"})", "respectAutoPlay");
  expect_bad_request(R"({"type":"REQUEST_SYNC","respectAutoPlay":1})", "respectAutoPlay");
}

// ---------------------------------------------------------------------------------------------
// OFFER / ANSWER / ICE_CANDIDATE

TEST(ParseRelay, KeepsTheWholeObject) {
  const std::string text = R"({"type":"ANSWER","from":"forged","to":"user_1",)"
                           R"("answer":{"type":"answer","sdp":"v=0\r\n"},)"
                           R"("userId":"forged","extra":[1,"2.5",null]})";
  const auto relay = parse_as<Relay>(text);
  ASSERT_TRUE(relay);
  EXPECT_EQ(relay->kind, RelayKind::answer);
  EXPECT_EQ(relay->to, "user_1");
  EXPECT_EQ(boost::json::serialize(relay->message), text);
}

TEST(ParseRelay, EachKindAndItsPayloadField) {
  const auto offer = parse_as<Relay>(R"({"type":"OFFER","to":"b","offer":{"sdp":"x"}})");
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->kind, RelayKind::offer);
  const auto answer = parse_as<Relay>(R"({"type":"ANSWER","to":"b","answer":{"sdp":"x"}})");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, RelayKind::answer);
  const auto ice = parse_as<Relay>(R"({"type":"ICE_CANDIDATE","to":"b","candidate":{}})");
  ASSERT_TRUE(ice);
  EXPECT_EQ(ice->kind, RelayKind::ice_candidate);
  // The payload field of another kind does not count.
  expect_bad_request(R"({"type":"OFFER","to":"b","answer":{"sdp":"x"}})", "offer");
  expect_bad_request(R"({"type":"ANSWER","to":"b","offer":{"sdp":"x"}})", "answer");
  expect_bad_request(R"({"type":"ICE_CANDIDATE","to":"b","offer":{}})", "candidate");
}

// Relays and unknown types go out as received: a number that overflowed to infinity would
// be written back as `Infinity`, which no receiver can parse.
TEST(ParseRelay, NumbersTooLargeForADoubleAreBadRequests) {
  expect_bad_request(R"({"type":"OFFER","to":"b","offer":{"sdp":"x","n":1e400}})", "finite");
  expect_bad_request(R"({"type":"ICE_CANDIDATE","to":"b","candidate":{"a":[1,-2e308]}})",
                     "finite");
  expect_bad_request(R"({"type":"ANSWER","to":"b","answer":{},"extra":{"x":[[1e999]]}})",
                     "finite");
  expect_bad_request(R"({"type":"CHAT","text":"hi","at":1e400})", "finite");
  // Large but finite numbers are relayed as they are.
  EXPECT_TRUE(parse_as<Relay>(R"({"type":"OFFER","to":"b","offer":{"n":1.7e308}})"));
  EXPECT_TRUE(parse_as<Fallback>(R"({"type":"CHAT","n":-1.7e308,"m":18446744073709551615})"));
}

TEST(ParseRelay, ToIsRequiredAndAValidUserId) {
  for (const std::string_view type : {"OFFER"sv, "ANSWER"sv, "ICE_CANDIDATE"sv}) {
    const std::string payload = type == "OFFER"    ? R"("offer":{})"
                                : type == "ANSWER" ? R"("answer":{})"
                                                   : R"("candidate":{})";
    const std::string head = R"({"type":")" + std::string(type) + R"(",)" + payload;
    expect_bad_request(head + "}", "to");
    for (const std::string_view value : {"null"sv, R"("")"sv, "1"sv, R"("a b")"sv, R"(["b"])"sv}) {
      expect_bad_request(head + R"(,"to":)" + std::string(value) + "}", "to");
    }
    expect_bad_request(head + R"(,"to":")" + std::string(101, 'u') + R"("})", "to");
    EXPECT_TRUE(parse_as<Relay>(head + R"(,"to":")" + std::string(100, 'u') + R"("})"));
  }
}

TEST(ParseRelay, PayloadMustBeAnObject) {
  for (const std::string_view value : {"null"sv, R"("v=0")"sv, "1"sv, "[]"sv, "true"sv}) {
    expect_bad_request(R"({"type":"OFFER","to":"b","offer":)" + std::string(value) + "}",
                       "offer must be an object");
    expect_bad_request(R"({"type":"ANSWER","to":"b","answer":)" + std::string(value) + "}",
                       "answer must be an object");
  }
  expect_bad_request(R"({"type":"OFFER","to":"b"})", "offer");
}

TEST(ParseRelay, NullIceCandidateMeansEndOfCandidatesAndIsRelayed) {
  const auto ice = parse_as<Relay>(R"({"type":"ICE_CANDIDATE","to":"b","candidate":null})");
  ASSERT_TRUE(ice);
  EXPECT_TRUE(ice->message.at("candidate").is_null());
  expect_bad_request(R"({"type":"ICE_CANDIDATE","to":"b"})", "candidate");
  for (const std::string_view value : {R"("candidate:1 1 udp")"sv, "0"sv, "[]"sv}) {
    expect_bad_request(
        R"({"type":"ICE_CANDIDATE","to":"b","candidate":)" + std::string(value) + "}",
        "candidate must be an object or null");
  }
}

// ---------------------------------------------------------------------------------------------
// Error codes on the wire.

TEST(ErrorCodes, WireStrings) {
  EXPECT_EQ(to_string(ErrorCode::bad_request), "BAD_REQUEST");
  EXPECT_EQ(to_string(ErrorCode::invalid_json), "INVALID_JSON");
  EXPECT_EQ(to_string(ErrorCode::not_joined), "NOT_JOINED");
  EXPECT_EQ(to_string(ErrorCode::pin_required), "PIN_REQUIRED");
  EXPECT_EQ(to_string(ErrorCode::pin_locked), "PIN_LOCKED");
  EXPECT_EQ(to_string(ErrorCode::forbidden), "FORBIDDEN");
  EXPECT_EQ(to_string(ErrorCode::rate_limited), "RATE_LIMITED");
  EXPECT_EQ(to_string(ErrorCode::internal), "INTERNAL");
}

}  // namespace
}  // namespace tandem::protocol
