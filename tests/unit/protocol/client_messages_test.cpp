// Every message of /work/shared/examples/client-messages.json (what the shipped extension
// really sends) parses to the expected command with the expected values.
#include "protocol/command_parser.hpp"
#include "protocol/event.hpp"
#include "protocol/limits.hpp"

#include "client_messages.hpp"
#include "parse_helpers.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace tandem::protocol {
namespace {

using test::kClientMessages;
using test::parse_as;

std::string_view message(std::size_t index) {
  return kClientMessages.at(index).json;
}

TEST(ClientMessages, EveryMessageParses) {
  ASSERT_EQ(kClientMessages.size(), 17u);
  for (const auto& [note, json] : kClientMessages) {
    const ParseResult result = parse_command(json);
    EXPECT_TRUE(std::holds_alternative<Command>(result))
        << note << ": " << std::get<ProtocolError>(result).message;
  }
}

TEST(ClientMessages, EveryMessageHasTheExpectedType) {
  const std::string_view expected[] = {"JOIN",
                                       "JOIN",
                                       "PING",
                                       "OFFER",
                                       "ANSWER",
                                       "ICE_CANDIDATE",
                                       "PLAY_PAUSE",
                                       "PLAYBACK_ACK",
                                       "PLAY_PAUSE",
                                       "SEEK",
                                       "READY",
                                       "HOST_HEARTBEAT",
                                       "POSITION_UPDATE",
                                       "URL_CHANGE",
                                       "REQUEST_SYNC",
                                       "UPDATE_USERNAME",
                                       "LEAVE"};
  ASSERT_EQ(std::size(expected), kClientMessages.size());
  for (std::size_t i = 0; i < kClientMessages.size(); ++i) {
    ParseResult result = parse_command(kClientMessages[i].json);
    ASSERT_TRUE(std::holds_alternative<Command>(result)) << kClientMessages[i].note;
    EXPECT_EQ(command_type(std::get<Command>(result)), expected[i]) << kClientMessages[i].note;
  }
}

TEST(ClientMessages, Joins) {
  const auto alice = parse_as<Join>(message(0));
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->room_id, "movie-night-42");
  EXPECT_EQ(alice->user_id, "user_k2x9f0q1v7");
  EXPECT_EQ(alice->username, "Alice");
  EXPECT_EQ(alice->pin, "4821");
  const auto bob = parse_as<Join>(message(1));
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->user_id, "user_3hd82mzt0p");
  EXPECT_EQ(bob->username, "Bob");
  EXPECT_EQ(bob->pin, "4821");
}

TEST(ClientMessages, PingCarriesNothingTheServerNeeds) {
  EXPECT_TRUE(parse_as<Ping>(message(2)));
}

TEST(ClientMessages, RealOfferWithItsSdp) {
  const auto offer = parse_as<Relay>(message(3));
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->kind, RelayKind::offer);
  EXPECT_EQ(offer->to, "user_3hd82mzt0p");
  // The SDP survives byte for byte: the original text and the kept object agree.
  const boost::json::value original = boost::json::parse(message(3));
  EXPECT_EQ(boost::json::value(offer->message), original);
  const boost::json::string& sdp = offer->message.at("offer").at("sdp").as_string();
  EXPECT_EQ(sdp.subview().substr(0, 9), "v=0\r\no=- ");
  EXPECT_NE(sdp.find("a=fingerprint:sha-256 3C:39:AF"), boost::json::string::npos);
  EXPECT_GT(sdp.size(), 3000u);
  EXPECT_LT(message(3).size(), kMaxFrameBytes);
}

TEST(ClientMessages, RealAnswer) {
  const auto answer = parse_as<Relay>(message(4));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, RelayKind::answer);
  EXPECT_EQ(answer->to, "user_k2x9f0q1v7");
  EXPECT_EQ(answer->message.at("answer").at("type").as_string(), "answer");
}

TEST(ClientMessages, RealIceCandidate) {
  const auto ice = parse_as<Relay>(message(5));
  ASSERT_TRUE(ice);
  EXPECT_EQ(ice->kind, RelayKind::ice_candidate);
  EXPECT_EQ(ice->to, "user_3hd82mzt0p");
  const boost::json::object& candidate = ice->message.at("candidate").as_object();
  EXPECT_EQ(candidate.at("sdpMid").as_string(), "0");
  EXPECT_EQ(candidate.at("sdpMLineIndex").as_int64(), 0);
  EXPECT_EQ(candidate.at("usernameFragment").as_string(), "Jzzh");
}

TEST(ClientMessages, PlayAndPause) {
  const auto play = parse_as<PlayPause>(message(6));
  ASSERT_TRUE(play);
  EXPECT_EQ(play->control, Control::play);
  EXPECT_EQ(play->current_time, 734.217);
  EXPECT_EQ(play->event_timestamp, 1764254420331.0);
  // Leaving the /watch page: no currentTime, and a "timestamp" of 0 that is not ours.
  const auto pause = parse_as<PlayPause>(message(8));
  ASSERT_TRUE(pause);
  EXPECT_EQ(pause->control, Control::pause);
  EXPECT_EQ(pause->current_time, std::nullopt);
  EXPECT_EQ(pause->event_timestamp, std::nullopt);
}

TEST(ClientMessages, PlaybackAckIsAFallbackKeptAsSent) {
  const auto ack = parse_as<Fallback>(message(7));
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->type, "PLAYBACK_ACK");
  EXPECT_EQ(boost::json::value(ack->message), boost::json::parse(message(7)));
}

TEST(ClientMessages, SeekReadyHeartbeatPosition) {
  const auto seek = parse_as<Seek>(message(9));
  ASSERT_TRUE(seek);
  EXPECT_EQ(seek->current_time, 1502.5);
  EXPECT_TRUE(seek->is_playing);
  EXPECT_EQ(seek->event_timestamp, 1764254460000.0);

  const auto ready = parse_as<Ready>(message(10));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->target_time, 1502.5);

  const auto heartbeat = parse_as<HostHeartbeat>(message(11));
  ASSERT_TRUE(heartbeat);
  EXPECT_EQ(heartbeat->current_time, 1510.02);
  EXPECT_TRUE(heartbeat->is_playing);
  EXPECT_EQ(heartbeat->event_timestamp, 1764254470000.0);

  const auto position = parse_as<PositionUpdate>(message(12));
  ASSERT_TRUE(position);
  EXPECT_EQ(position->current_time, 1509.87);
  EXPECT_TRUE(position->is_playing);
}

TEST(ClientMessages, UrlChangeSyncRenameLeave) {
  const auto url = parse_as<UrlChange>(message(13));
  ASSERT_TRUE(url);
  EXPECT_EQ(url->url, "https://www.netflix.com/watch/80192098");
  EXPECT_EQ(url->current_time, 0.0);

  const auto sync = parse_as<RequestSync>(message(14));
  ASSERT_TRUE(sync);
  EXPECT_FALSE(sync->respect_auto_play);

  // 59 characters in the client, cut to 50 here.
  const auto rename = parse_as<UpdateUsername>(message(15));
  ASSERT_TRUE(rename);
  ASSERT_TRUE(rename->username);
  EXPECT_EQ(*rename->username, "Bob (living room TV, upstairs, the one with the ca");
  EXPECT_EQ(rename->username->size(), 50u);

  EXPECT_TRUE(parse_as<Leave>(message(16)));
}

// The relay path end to end: parse the real OFFER, apply the server's overrides as the room
// does, encode, and check what the receiver gets.
TEST(ClientMessages, RelayedOfferRoundTrip) {
  auto offer = parse_as<Relay>(message(3));
  ASSERT_TRUE(offer);
  offer->message["from"] = "user_k2x9f0q1v7";
  offer->message["userId"] = "user_k2x9f0q1v7";
  const std::string frame =
      encode(PassThroughEvent{std::move(offer->message), false}, 1764254430000, "node-a");
  const boost::json::object received = boost::json::parse(frame).as_object();
  boost::json::object expected = boost::json::parse(message(3)).as_object();
  expected["nodeId"] = "node-a";
  EXPECT_EQ(received, expected);
  EXPECT_EQ(received.if_contains("timestamp"), nullptr);
}

}  // namespace
}  // namespace tandem::protocol
