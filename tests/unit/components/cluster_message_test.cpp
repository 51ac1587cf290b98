// The room-channel message of cluster mode: lossless round trip, frames carried byte for
// byte, and every malformed message refused (a node must never act on half a message).
#include "cluster/cluster_message.hpp"
#include "room/room_codec.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

room::RoomState sample_state() {
  room::RoomState state;
  state.id = "room-1";
  state.host_user_id = "alice";
  state.url = "https://www.netflix.com/watch/1";
  state.version = 42;
  room::Member alice;
  alice.user_id = "alice";
  alice.peer_id = "p-1";
  alice.node_id = "node-0";
  state.members.push_back(alice);
  return state;
}

ClusterMessage sample() {
  ClusterMessage message;
  message.version = 42;
  message.sender = "p-1";
  message.state = sample_state();
  message.deliveries.push_back(
      MessageDelivery{Target::all, "", "", "PLAY_PAUSE", "", R"({"type":"PLAY_PAUSE","x":"a\nb"})"});
  message.deliveries.push_back(MessageDelivery{Target::except, "alice", "", "USER_JOINED", "", "{}"});
  message.deliveries.push_back(
      MessageDelivery{Target::user, "bob", "p-2", "OFFER", "", std::string("{\"sdp\":\"v=0\\r\\n\"}")});
  message.deliveries.push_back(
      MessageDelivery{Target::peer, "", "p-1", "ERROR", "FORBIDDEN", R"({"type":"ERROR"})"});
  message.closes.push_back(MessageClose{"p-9", 4000, "replaced"});
  return message;
}

TEST(ClusterMessage, RoundTripsEveryField) {
  const ClusterMessage message = sample();
  const auto back = decode_message(encode_message(message));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->version, 42U);
  EXPECT_EQ(back->sender, "p-1");
  ASSERT_TRUE(back->state.has_value());
  EXPECT_EQ(*back->state, *message.state);
  ASSERT_EQ(back->deliveries.size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(back->deliveries[i].target, message.deliveries[i].target) << i;
    EXPECT_EQ(back->deliveries[i].user, message.deliveries[i].user) << i;
    EXPECT_EQ(back->deliveries[i].peer, message.deliveries[i].peer) << i;
    EXPECT_EQ(back->deliveries[i].type, message.deliveries[i].type) << i;
    EXPECT_EQ(back->deliveries[i].error_code, message.deliveries[i].error_code) << i;
    EXPECT_EQ(back->deliveries[i].frame, message.deliveries[i].frame) << i;
  }
  ASSERT_EQ(back->closes.size(), 1U);
  EXPECT_EQ(back->closes[0].peer, "p-9");
  EXPECT_EQ(back->closes[0].code, 4000);
  EXPECT_EQ(back->closes[0].reason, "replaced");
}

TEST(ClusterMessage, FramesAreCarriedAsTheyAre) {
  const ClusterMessage message = sample();
  const std::string text = encode_message(message);
  // Not re-escaped inside the header: the frame bytes appear verbatim at the end.
  EXPECT_NE(text.find(R"({"type":"PLAY_PAUSE","x":"a\nb"})"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 16), R"({"type":"ERROR"})");
}

TEST(ClusterMessage, AStatelessMessageHasNoSnapshot) {
  ClusterMessage relay;
  relay.sender = "p-1";
  relay.deliveries.push_back(MessageDelivery{Target::user, "bob", "p-2", "ICE_CANDIDATE", "", "{}"});
  const auto back = decode_message(encode_message(relay));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->version, 0U);
  EXPECT_FALSE(back->state.has_value());
  ASSERT_EQ(back->deliveries.size(), 1U);
  // The pre-serialized form is the same message.
  EXPECT_EQ(encode_message(sample(), room::to_json_string(sample_state())), encode_message(sample()));
}

TEST(ClusterMessage, MalformedMessagesAreRefused) {
  const std::string good = encode_message(sample());
  EXPECT_FALSE(decode_message("").has_value());
  EXPECT_FALSE(decode_message("{}").has_value());
  EXPECT_FALSE(decode_message("{}\n\n").has_value());           // no v/s/d
  EXPECT_FALSE(decode_message(good.substr(0, good.size() - 1)).has_value());  // frame cut
  EXPECT_FALSE(decode_message(good + "x").has_value());         // bytes left over
  EXPECT_FALSE(decode_message("not json\n\n").has_value());
  // A snapshot without a version (a version without a snapshot is a plain change).
  EXPECT_TRUE(decode_message(R"({"v":3,"s":"","d":[]})" "\n\n").has_value());
  EXPECT_FALSE(decode_message(R"({"v":0,"s":"","d":[]})" "\n" +
                              room::to_json_string(sample_state()) + "\n")
                   .has_value());
  // Unknown audience, negative or oversized lengths, bad close codes.
  EXPECT_FALSE(decode_message(R"({"v":0,"s":"","d":[{"a":"everyone","t":"X","n":0}]})" "\n\n").has_value());
  EXPECT_FALSE(decode_message(R"({"v":0,"s":"","d":[{"a":"all","t":"X","n":-1}]})" "\n\n").has_value());
  EXPECT_FALSE(decode_message(R"({"v":0,"s":"","d":[{"a":"all","t":"X","n":5}]})" "\n\nabc").has_value());
  EXPECT_FALSE(decode_message(R"({"v":0,"s":"","d":[],"c":[{"p":"x","k":70000,"r":""}]})" "\n\n").has_value());
  EXPECT_FALSE(decode_message(R"({"v":0,"s":"","d":[]})" "\n{\"v\":1}\n").has_value());  // bad state
  EXPECT_TRUE(decode_message(R"({"v":0,"s":"","d":[{"a":"all","t":"X","n":3}]})" "\n\nabc").has_value());
}

}  // namespace
}  // namespace tandem::cluster

namespace tandem::cluster {
namespace {

// docs/SYNC.md: one event, one frame per capability variant; each node picks per member.
TEST(ClusterMessage, VariantsRoundTripAndArePickedByCapability) {
  ClusterMessage message;
  MessageDelivery play{Target::all, "", "", "PLAY_PAUSE", "", R"({"type":"PLAY_PAUSE"})"};
  play.variants.emplace_back(protocol::kScheduledPlayback,
                             R"({"type":"PLAY_PAUSE","position":1,"startAt":2})");
  message.deliveries.push_back(play);
  message.deliveries.push_back(MessageDelivery{Target::all, "", "", "PONG", "", "{}"});
  const auto back = decode_message(encode_message(message));
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->deliveries.size(), 2U);
  const MessageDelivery& got = back->deliveries[0];
  EXPECT_EQ(got.frame, play.frame);
  ASSERT_EQ(got.variants.size(), 1U);
  EXPECT_EQ(got.variants[0], play.variants[0]);
  EXPECT_EQ(back->deliveries[1].frame, "{}");  // frames after variants are sliced right
  EXPECT_EQ(got.variant_for(0), 0U);
  EXPECT_EQ(got.variant_for(protocol::kAnnounced | protocol::kClockSync), 0U);
  EXPECT_EQ(got.variant_for(protocol::kEveryCapability), 1U);
  EXPECT_EQ(back->deliveries[1].variant_for(protocol::kEveryCapability), 0U);
}

TEST(ClusterMessage, MalformedVariantsAreRefused) {
  ClusterMessage message;
  MessageDelivery play{Target::all, "", "", "PLAY_PAUSE", "", "abc"};
  play.variants.emplace_back(protocol::kScheduledPlayback, "defg");
  message.deliveries.push_back(play);
  const std::string good = encode_message(message);
  ASSERT_TRUE(decode_message(good));
  EXPECT_FALSE(decode_message(good.substr(0, good.size() - 1)));  // a variant cut short
  std::string longer = good;
  longer.replace(longer.find(R"("n":4)"), 5, R"("n":9)");
  EXPECT_FALSE(decode_message(longer));
  std::string not_array = good;
  not_array.replace(not_array.find(R"("x":[)"), 5, R"("x":{)");
  EXPECT_FALSE(decode_message(not_array));
}

}  // namespace
}  // namespace tandem::cluster
