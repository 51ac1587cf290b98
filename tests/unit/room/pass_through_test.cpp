// Pass-through rules: the server's reserved keys on relays and fallback broadcasts, and
// guest control over the fallback types that steer playback.
#include "room/pass_through.hpp"
#include "room_test_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace tandem::room::test {
namespace {

namespace json = boost::json;

class PassThroughTest : public RoomTest {
 protected:
  void SetUp() override { join_all({"alice", "bob", "carol"}); }  // alice is host

  static pr::Fallback fallback(std::string type, json::object extra = {}) {
    json::object message{{"type", type}};
    for (auto& kv : extra) message[kv.key()] = kv.value();
    return pr::Fallback{std::move(type), std::move(message)};
  }

  // Every key a client could forge, with the attacker's values.
  static json::object forged() {
    return json::object{{"userId", "alice"},
                        {"from", "alice"},
                        {"fromUserId", "server"},
                        {"nodeId", "evil-node"},
                        {"timestamp", 5}};
  }
};

TEST_F(PassThroughTest, SteeringTypesAreListed) {
  EXPECT_TRUE(steers_playback("SYNC_RESPONSE"));
  EXPECT_TRUE(steers_playback("SYNC_PLAYBACK"));
  for (const std::string_view other : {"PLAYBACK_ACK", "SYNC_REQUEST", "sync_response", "CHAT"}) {
    EXPECT_FALSE(steers_playback(other)) << other;
  }
}

TEST_F(PassThroughTest, AGuestsSteeringFallbackIsForbiddenAndReachesNobody) {
  for (const char* type : {"SYNC_RESPONSE", "SYNC_PLAYBACK"}) {
    const RoomState before = state_;
    const Effects fx = send(
        "bob", fallback(type, {{"url", "https://evil.example/"}, {"currentTime", 3}}), kT0 + 10);
    EXPECT_EQ(state_, before);
    EXPECT_FALSE(fx.changed);
    ASSERT_EQ(fx.deliveries.size(), 1U) << type;
    EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
    EXPECT_EQ(event_at<pr::ErrorEvent>(fx, 0).code, pr::ErrorCode::forbidden);
    EXPECT_EQ(count_events<pr::PassThroughEvent>(fx), 0U);
  }
}

TEST_F(PassThroughTest, SteeringFallbacksFollowGuestControlLikePlayPause) {
  // The host may steer; so may a guest once guest control is on, and not after it is off.
  EXPECT_EQ(count_events<pr::PassThroughEvent>(send("alice", fallback("SYNC_PLAYBACK"))), 1U);
  send("alice", pr::ToggleGuestControl{true});
  const Effects allowed = send("carol", fallback("SYNC_RESPONSE", {{"currentTime", 7}}));
  ASSERT_EQ(allowed.deliveries.size(), 1U);
  EXPECT_EQ(allowed.deliveries[0].audience, Audience::all);
  EXPECT_EQ(event_at<pr::PassThroughEvent>(allowed, 0).message.at("currentTime"), 7);
  send("alice", pr::ToggleGuestControl{false});
  EXPECT_EQ(must_event<pr::ErrorEvent>(send("carol", fallback("SYNC_RESPONSE"))).code,
            pr::ErrorCode::forbidden);
  // A PLAY_PAUSE from the same guest is refused the same way.
  EXPECT_EQ(must_event<pr::ErrorEvent>(send("carol", pr::PlayPause{pr::Control::play, 1.0, {}})).code,
            pr::ErrorCode::forbidden);
}

TEST_F(PassThroughTest, OtherFallbacksStayOpenToGuests) {
  const Effects fx = send("bob", fallback("PLAYBACK_ACK", {{"control", "play"}, {"to", "alice"}}));
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  EXPECT_EQ(event_at<pr::PassThroughEvent>(fx, 0).message.at("to"), "alice");
}

TEST_F(PassThroughTest, ABroadcastsReservedKeysAreTheServers) {
  send("alice", pr::ToggleGuestControl{true});
  const Effects fx = send("carol", fallback("SYNC_RESPONSE", forged()), kT0 + 20);
  const auto& e = event_at<pr::PassThroughEvent>(fx, 0);
  EXPECT_TRUE(e.add_timestamp);  // the encoder writes timestamp and nodeId
  EXPECT_EQ(e.message.at("userId"), "carol");
  EXPECT_EQ(e.message.at("from"), "carol");
  EXPECT_EQ(e.message.at("fromUserId"), "carol");
  EXPECT_FALSE(e.message.contains("nodeId")) << json::serialize(e.message);
  EXPECT_FALSE(e.message.contains("timestamp")) << json::serialize(e.message);
  // The encoded frame: the server's nodeId and timestamp, once each.
  const json::object frame = json::parse(pr::encode(fx.deliveries[0].event, kT0 + 20, "node-a")).as_object();
  EXPECT_EQ(frame.at("nodeId"), "node-a");
  EXPECT_EQ(frame.at("timestamp"), kT0 + 20);
  EXPECT_EQ(frame.at("fromUserId"), "carol");
  EXPECT_EQ(frame.size(), 6U) << json::serialize(frame);  // type + the five reserved keys
}

TEST_F(PassThroughTest, ABroadcastAddsNoKeyTheClientLeftOut) {
  const Effects fx = send("bob", fallback("PLAYBACK_ACK"));
  const auto& e = event_at<pr::PassThroughEvent>(fx, 0);
  EXPECT_EQ(e.message.at("userId"), "bob");
  EXPECT_FALSE(e.message.contains("from"));
  EXPECT_FALSE(e.message.contains("fromUserId"));
}

TEST_F(PassThroughTest, ARelaysReservedKeysAreTheServers) {
  json::object message = forged();
  message["type"] = "OFFER";
  message["to"] = "carol";
  const Effects fx =
      send("bob", pr::Relay{pr::RelayKind::offer, "carol", std::move(message)}, kT0 + 30);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  const auto& e = event_at<pr::PassThroughEvent>(fx, 0);
  EXPECT_FALSE(e.add_timestamp);
  EXPECT_EQ(e.message.at("userId"), "bob");
  EXPECT_EQ(e.message.at("from"), "bob");
  EXPECT_EQ(e.message.at("fromUserId"), "bob");
  EXPECT_EQ(e.message.at("timestamp"), kT0 + 30);  // the client's 5 did not survive
  EXPECT_FALSE(e.message.contains("nodeId"));
  const json::object frame = json::parse(pr::encode(fx.deliveries[0].event, kT0 + 30, "node-a")).as_object();
  EXPECT_EQ(frame.at("nodeId"), "node-a");
  EXPECT_EQ(frame.at("timestamp"), kT0 + 30);
}

}  // namespace
}  // namespace tandem::room::test
