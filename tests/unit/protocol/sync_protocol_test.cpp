// The protocol of docs/SYNC.md: JOIN capabilities, CLOCK_REQUEST / CLOCK_ACK, POSITION_UPDATE
// sampledAt; the encoder writing capability-specific fields only for recipients that
// announced them (and old clients' frames unchanged byte for byte); FrameVariants.
#include "protocol/command_parser.hpp"
#include "protocol/event.hpp"
#include "protocol/frame_variants.hpp"

#include "parse_helpers.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace tandem::protocol {
namespace {

namespace json = boost::json;

using test::expect_bad_request;
using test::parse_as;

constexpr Millis kServerNow = 1764254420999;

std::string join_capable(std::string_view capabilities) {
  return R"({"type":"JOIN","roomId":"r","userId":"u","capabilities":)" + std::string(capabilities) +
         "}";
}

// ---- parsing --------------------------------------------------------------------------

TEST(ParseCapabilities, KnownNamesBecomeBitsAndTheListIsRemembered) {
  const auto join = parse_as<Join>(join_capable(R"(["scheduledPlayback","clockSync"])"));
  ASSERT_TRUE(join);
  EXPECT_EQ(join->capabilities, kAnnounced | kClockSync | kScheduledPlayback);
  EXPECT_FALSE(join->server_rtt_ms.has_value());
}

TEST(ParseCapabilities, UnknownNamesAreIgnoredAndAnEmptyListStillCounts) {
  EXPECT_EQ(parse_as<Join>(join_capable(R"(["teleport","clockSync"])"))->capabilities,
            kAnnounced | kClockSync);
  EXPECT_EQ(parse_as<Join>(join_capable("[]"))->capabilities, kAnnounced);
  EXPECT_EQ(parse_as<Join>(join_capable("null"))->capabilities, 0U);  // null = absent
  EXPECT_EQ(parse_as<Join>(R"({"type":"JOIN","roomId":"r","userId":"u"})")->capabilities, 0U);
}

TEST(ParseCapabilities, ClientsCannotSetTheServersRoundTrip) {
  const auto join =
      parse_as<Join>(R"({"type":"JOIN","roomId":"r","userId":"u","server_rtt_ms":1,"serverRttMs":1})");
  EXPECT_FALSE(join->server_rtt_ms.has_value());
  const auto ack = parse_as<ClockAck>(R"({"type":"CLOCK_ACK","seq":1,"serverRttMs":5})");
  EXPECT_FALSE(ack->server_rtt_ms.has_value());
}

TEST(ParseCapabilities, MalformedListsAreBadRequests) {
  std::string many = "[";
  for (int i = 0; i < 33; ++i) many += (i ? ",\"a\"" : "\"a\"");
  many += "]";
  for (const std::string& bad :
       {std::string(R"("clockSync")"), std::string("{}"), std::string("[1]"),
        std::string(R"([""])"), R"([")" + std::string(65, 'x') + R"("])", many}) {
    SCOPED_TRACE(bad);
    expect_bad_request(join_capable(bad), "capabilities");
  }
  EXPECT_TRUE(parse_as<Join>(join_capable(R"([")" + std::string(64, 'x') + R"("])")));
}

TEST(ParseClock, RequestAndAck) {
  const auto request =
      parse_as<ClockRequest>(R"({"type":"CLOCK_REQUEST","seq":42,"clientTime":12345.678})");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->seq, 42U);
  EXPECT_DOUBLE_EQ(request->client_time, 12345.678);
  EXPECT_EQ(parse_as<ClockRequest>(R"({"type":"CLOCK_REQUEST","seq":9007199254740992,"clientTime":-5})")
                ->seq,
            9007199254740992U);
  EXPECT_EQ(parse_as<ClockAck>(R"({"type":"CLOCK_ACK","seq":0})")->seq, 0U);
}

TEST(ParseClock, InvalidFieldsAreBadRequests) {
  expect_bad_request(R"({"type":"CLOCK_REQUEST","clientTime":1})", "seq");
  expect_bad_request(R"({"type":"CLOCK_REQUEST","seq":-1,"clientTime":1})", "seq");
  expect_bad_request(R"({"type":"CLOCK_REQUEST","seq":1.5,"clientTime":1})", "seq");
  expect_bad_request(R"({"type":"CLOCK_REQUEST","seq":"1","clientTime":1})", "seq");
  expect_bad_request(R"({"type":"CLOCK_REQUEST","seq":9007199254740993,"clientTime":1})", "seq");
  expect_bad_request(R"({"type":"CLOCK_REQUEST","seq":1})", "clientTime");
  expect_bad_request(R"({"type":"CLOCK_REQUEST","seq":1,"clientTime":"now"})", "clientTime");
  expect_bad_request(R"({"type":"CLOCK_ACK"})", "seq");
  expect_bad_request(R"({"type":"CLOCK_REPLY","seq":1})", "reserved");
}

TEST(ParsePositionUpdate, SampledAtIsOptionalAndFinite) {
  const auto timed = parse_as<PositionUpdate>(
      R"({"type":"POSITION_UPDATE","currentTime":3.5,"isPlaying":true,"sampledAt":1764254420999.25})");
  EXPECT_EQ(timed->sampled_at, 1764254420999.25);
  EXPECT_FALSE(parse_as<PositionUpdate>(
                   R"({"type":"POSITION_UPDATE","currentTime":3.5,"isPlaying":true})")
                   ->sampled_at);
  expect_bad_request(
      R"({"type":"POSITION_UPDATE","currentTime":3.5,"isPlaying":true,"sampledAt":"x"})",
      "sampledAt");
}

// ---- encoding -------------------------------------------------------------------------

json::object parsed(const std::string& text) { return json::parse(text).as_object(); }

PlayPauseEvent scheduled_play() {
  PlayPauseEvent play{"alice", Control::play, 20.0, 1764254420331.0};
  play.timeline = Timeline{20.0, true, kServerNow + 250};
  return play;
}

TEST(EncodeSync, AnOldClientGetsTheFrameItAlwaysGot) {
  PlayPauseEvent plain{"alice", Control::play, 20.0, 1764254420331.0};
  const std::string old_frame = encode(plain, kServerNow, "n");
  EXPECT_EQ(encode(scheduled_play(), kServerNow, "n", 0), old_frame);
  EXPECT_EQ(encode(scheduled_play(), kServerNow, "n", kAnnounced | kClockSync), old_frame);
  HostHeartbeatEvent beat{"alice", 21.0, true, 1.0};
  const std::string old_beat = encode(beat, kServerNow, "n");
  beat.timeline = Timeline{20.0, true, kServerNow};
  EXPECT_EQ(encode(beat, kServerNow, "n", 0), old_beat);
}

TEST(EncodeSync, ACapableClientGetsPositionAndStartAtBeforeTheTimestamp) {
  const std::string text = encode(scheduled_play(), kServerNow, "n", kScheduledPlayback);
  EXPECT_EQ(text,
            R"({"type":"PLAY_PAUSE","userId":"alice","control":"play","currentTime":20,)"
            R"("eventTimestamp":1764254420331,"position":20,"startAt":1764254421249,)"
            R"("timestamp":1764254420999})");
  PlayPauseEvent pause{"alice", Control::pause, std::nullopt, std::nullopt};
  pause.timeline = Timeline{22.125, false, 0};
  const json::object paused = parsed(encode(pause, kServerNow, "n", kScheduledPlayback));
  EXPECT_EQ(paused.at("position").as_double(), 22.125);
  EXPECT_FALSE(paused.contains("startAt"));
}

TEST(EncodeSync, RoomStateAnswersCapabilitiesToWhoeverAnnounced) {
  RoomStateEvent state;
  state.room_id = "r";
  state.host_user_id = "u";
  const std::string old_frame = encode(state, kServerNow, "n");
  state.answer_capabilities = true;
  const json::object answered = parsed(encode(state, kServerNow, "n"));
  EXPECT_EQ(answered.at("capabilities"), (json::array{"clockSync", "scheduledPlayback"}));
  EXPECT_FALSE(answered.contains("position"));
  state.answer_capabilities = false;
  EXPECT_EQ(encode(state, kServerNow, "n"), old_frame);
  state.timeline = Timeline{5, false, 0};
  EXPECT_EQ(parsed(encode(state, kServerNow, "n")).at("position"), 5);
}

TEST(EncodeSync, ClockReply) {
  const std::string text =
      encode(ClockReplyEvent{7, 123.5, 1764254420999.125, 1764254420999.25}, kServerNow, "n");
  EXPECT_EQ(text,
            R"({"type":"CLOCK_REPLY","seq":7,"clientTime":123.5,"serverReceived":1764254420999.125,)"
            R"("serverSent":1764254420999.25,"timestamp":1764254420999})");
}

TEST(RecipientKey, OnlyEventsWithCapabilityFieldsVary) {
  const Event plain = PlayPauseEvent{"a", Control::play, 1.0, std::nullopt};
  const Event scheduled = scheduled_play();
  EXPECT_EQ(recipient_key(plain, kScheduledPlayback), 0U);
  EXPECT_EQ(recipient_key(scheduled, 0), 0U);
  EXPECT_EQ(recipient_key(scheduled, kAnnounced | kClockSync), 0U);
  EXPECT_EQ(recipient_key(scheduled, kEveryCapability), kScheduledPlayback);
  EXPECT_EQ(recipient_key(Event{PongEvent{}}, kEveryCapability), 0U);
}

TEST(FrameVariants, OneFramePerKeySharedByItsRecipients) {
  const Event scheduled = scheduled_play();
  FrameVariants frames(scheduled, kServerNow, "n");
  const Frame old_a = frames.for_recipient(0);
  const Frame capable = frames.for_recipient(kAnnounced | kClockSync | kScheduledPlayback);
  const Frame old_b = frames.for_recipient(kAnnounced | kClockSync);
  EXPECT_EQ(old_a, old_b);  // the same bytes, one allocation
  EXPECT_NE(old_a, capable);
  EXPECT_EQ(*old_a, encode(scheduled, kServerNow, "n", 0));
  EXPECT_EQ(*capable, encode(scheduled, kServerNow, "n", kScheduledPlayback));
  EXPECT_EQ(frames.for_recipient(kScheduledPlayback), capable);

  const Event plain = PongEvent{};
  FrameVariants single(plain, kServerNow, "n");
  EXPECT_EQ(single.for_recipient(0), single.for_recipient(kEveryCapability));
}

}  // namespace
}  // namespace tandem::protocol
