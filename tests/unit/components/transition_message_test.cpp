// transition_message: a transition's Effects as the message a cluster node publishes, each
// audience resolved against the room after the transition.
#include "cluster/transition_message.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

constexpr protocol::Millis kNow = 1'700'000'000'000;

room::RoomState room_with_bob(bool bob_connected) {
  room::RoomState state;
  state.id = "r1";
  room::Member bob;
  bob.user_id = "bob";
  bob.peer_id = "p-bob";
  bob.connected = bob_connected;
  state.members.push_back(bob);
  return state;
}

room::Delivery to(room::Audience audience, std::string user, protocol::Event event) {
  return room::Delivery{audience, std::move(user), std::move(event)};
}

TEST(TransitionMessageTest, EachAudienceBecomesItsChannelTarget) {
  room::Effects effects;
  effects.deliveries.push_back(
      to(room::Audience::sender, "", protocol::ErrorEvent{protocol::ErrorCode::forbidden, "no"}));
  effects.deliveries.push_back(
      to(room::Audience::all, "", protocol::UserLeftEvent{"carol", "p-c"}));
  effects.deliveries.push_back(
      to(room::Audience::all_except, "alice", protocol::UserJoinedEvent{"alice", "p-a", {}}));
  effects.deliveries.push_back(
      to(room::Audience::user, "bob", protocol::UserLeftEvent{"carol", "p-c"}));
  effects.closes.push_back(room::CloseRequest{"p-x", 1000, "left the room"});

  const ClusterMessage message =
      transition_message(room_with_bob(true), effects, "p-a", kNow, "node-1");
  EXPECT_EQ(message.sender, "p-a");
  ASSERT_EQ(message.deliveries.size(), 4u);
  EXPECT_EQ(message.deliveries[0].target, Target::peer);
  EXPECT_EQ(message.deliveries[0].peer, "p-a");
  EXPECT_EQ(message.deliveries[0].type, "ERROR");
  EXPECT_EQ(message.deliveries[0].error_code, "FORBIDDEN");
  EXPECT_EQ(message.deliveries[1].target, Target::all);
  EXPECT_EQ(message.deliveries[1].type, "USER_LEFT");
  EXPECT_EQ(message.deliveries[2].target, Target::except);
  EXPECT_EQ(message.deliveries[2].user, "alice");
  EXPECT_EQ(message.deliveries[2].peer, "p-a");  // the sender's connection is excluded too
  EXPECT_EQ(message.deliveries[3].target, Target::user);
  EXPECT_EQ(message.deliveries[3].user, "bob");
  EXPECT_EQ(message.deliveries[3].peer, "p-bob");
  for (const auto& delivery : message.deliveries) {  // encoded once, as sent to clients
    EXPECT_EQ(delivery.frame.rfind("{\"type\":\"" + delivery.type + "\"", 0), 0u) << delivery.frame;
  }
  ASSERT_EQ(message.closes.size(), 1u);
  EXPECT_EQ(message.closes[0].peer, "p-x");
  EXPECT_EQ(message.closes[0].reason, "left the room");
}

TEST(TransitionMessageTest, DeliveriesWithNobodyToReachAreLeftOut) {
  room::Effects effects;
  effects.deliveries.push_back(to(room::Audience::sender, "", protocol::ErrorEvent{}));
  effects.deliveries.push_back(
      to(room::Audience::user, "bob", protocol::UserLeftEvent{"carol", "p-c"}));
  effects.deliveries.push_back(
      to(room::Audience::user, "nobody", protocol::UserLeftEvent{"carol", "p-c"}));
  // No sender (an internal operation) and bob disconnected: nothing to publish.
  const ClusterMessage message =
      transition_message(room_with_bob(false), effects, "", kNow, "node-1");
  EXPECT_TRUE(message.deliveries.empty());
}

}  // namespace
}  // namespace tandem::cluster
