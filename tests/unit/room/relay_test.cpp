// Stateless traffic: OFFER/ANSWER/ICE_CANDIDATE relays and the fallback broadcast.
#include "room_test_support.hpp"

namespace tandem::room::test {
namespace {

namespace json = boost::json;

class RelayTest : public RoomTest {
 protected:
  void SetUp() override { join_all({"alice", "bob", "carol"}); }

  static pr::Relay offer_to(std::string to) {
    json::object message{{"type", "OFFER"}, {"to", to}, {"offer", {{"sdp", "v=0..."}}}};
    return pr::Relay{pr::RelayKind::offer, std::move(to), std::move(message)};
  }
};

TEST_F(RelayTest, RelayGoesToTheTargetOnlyWithRealSender) {
  const RoomState before = state_;
  pr::Relay cmd = offer_to("bob");
  cmd.message["userId"] = "carol";  // forged
  cmd.message["from"] = "carol";

  const Effects fx = send("alice", cmd, kT0 + 10);
  EXPECT_FALSE(fx.changed);
  EXPECT_FALSE(fx.relay_dropped);
  EXPECT_EQ(state_, before);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::user);
  EXPECT_EQ(fx.deliveries[0].user_id, "bob");
  const auto& e = event_at<pr::PassThroughEvent>(fx, 0);
  EXPECT_FALSE(e.add_timestamp);
  EXPECT_EQ(e.message.at("userId"), "alice");
  EXPECT_EQ(e.message.at("from"), "alice");
  EXPECT_EQ(e.message.at("type"), "OFFER");
  EXPECT_EQ(e.message.at("to"), "bob");
  EXPECT_EQ(e.message.at("offer").at("sdp"), "v=0...");
}

TEST_F(RelayTest, RelayAddsFromAndUserIdWhenAbsent) {
  pr::Relay cmd{pr::RelayKind::ice_candidate, "carol",
                json::object{{"type", "ICE_CANDIDATE"}, {"candidate", nullptr}}};
  const Effects fx = send("bob", cmd, kT0 + 10);
  const auto& e = event_at<pr::PassThroughEvent>(fx, 0);
  EXPECT_EQ(e.message.at("userId"), "bob");
  EXPECT_EQ(e.message.at("from"), "bob");
  EXPECT_EQ(fx.deliveries[0].user_id, "carol");
}

TEST_F(RelayTest, RelayToAbsentTargetIsDropped) {
  const Effects fx = send("alice", offer_to("zed"), kT0 + 10);
  EXPECT_TRUE(fx.relay_dropped);
  EXPECT_TRUE(fx.deliveries.empty());
  EXPECT_FALSE(fx.changed);
}

TEST_F(RelayTest, RelayToDisconnectedTargetIsDropped) {
  drop("bob", kT0 + 5);
  const RoomState before = state_;
  const Effects fx = send("alice", offer_to("bob"), kT0 + 10);
  EXPECT_TRUE(fx.relay_dropped);
  EXPECT_TRUE(fx.deliveries.empty());
  EXPECT_EQ(state_, before);
}

TEST_F(RelayTest, FallbackBroadcastsToAllWithRealSenderAndTimestamp) {
  const RoomState before = state_;
  pr::Fallback cmd{"PLAYBACK_ACK",
                   json::object{{"type", "PLAYBACK_ACK"}, {"userId", "mallory"}, {"n", 3}}};
  const Effects fx = send("carol", cmd, kT0 + 10);
  EXPECT_FALSE(fx.changed);
  EXPECT_TRUE(fx.records.empty());
  EXPECT_EQ(state_, before);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);  // sender included
  const auto& e = event_at<pr::PassThroughEvent>(fx, 0);
  EXPECT_TRUE(e.add_timestamp);
  EXPECT_EQ(e.message.at("userId"), "carol");
  EXPECT_EQ(e.message.at("type"), "PLAYBACK_ACK");
  EXPECT_EQ(e.message.at("n"), 3);
}

}  // namespace
}  // namespace tandem::room::test
