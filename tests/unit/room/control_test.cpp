// Host authority: TRANSFER_HOST, TOGGLE_GUEST_CONTROL, and guest control over PLAY_PAUSE,
// SEEK and URL_CHANGE.
#include "room_test_support.hpp"

namespace tandem::room::test {
namespace {

class ControlTest : public RoomTest {
 protected:
  void SetUp() override { join_all({"alice", "bob", "carol"}); }
};

TEST_F(ControlTest, HostTransfersHost) {
  const Effects fx = send("alice", pr::TransferHost{"carol"}, kT0 + 10);
  EXPECT_TRUE(fx.changed);
  EXPECT_EQ(state_.host_user_id, "carol");
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  EXPECT_EQ(event_at<pr::HostChangedEvent>(fx, 0).host_user_id, "carol");
  const Record* r = find_record(fx, "HOST_CHANGED");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->user_id, "alice");
  EXPECT_EQ(r->data.at("from"), "alice");
  EXPECT_EQ(r->data.at("to"), "carol");
  EXPECT_EQ(r->data.at("reason"), "transfer");

  // Authority moved with it.
  EXPECT_EQ(must_event<pr::ErrorEvent>(send("alice", pr::TransferHost{"bob"})).code,
            pr::ErrorCode::forbidden);
}

TEST_F(ControlTest, TransferToSelfIsStillAnnounced) {
  const std::uint64_t version = state_.version;
  const Effects fx = send("alice", pr::TransferHost{"alice"}, kT0 + 10);
  EXPECT_EQ(state_.host_user_id, "alice");
  EXPECT_EQ(event_at<pr::HostChangedEvent>(fx, 0).host_user_id, "alice");
  EXPECT_EQ(state_.version, version + 1);
}

TEST_F(ControlTest, TransferToDisconnectedMemberIsAllowed) {
  drop("carol", kT0 + 5);
  send("alice", pr::TransferHost{"carol"}, kT0 + 10);
  EXPECT_EQ(state_.host_user_id, "carol");
}

TEST_F(ControlTest, GuestCannotTransferHost) {
  const RoomState before = state_;
  const Effects fx = send("bob", pr::TransferHost{"bob"}, kT0 + 10);
  EXPECT_FALSE(fx.changed);
  EXPECT_EQ(state_, before);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  EXPECT_EQ(event_at<pr::ErrorEvent>(fx, 0).code, pr::ErrorCode::forbidden);
  EXPECT_TRUE(fx.records.empty());
}

TEST_F(ControlTest, TransferToNonMemberIsABadRequest) {
  const RoomState before = state_;
  const Effects fx = send("alice", pr::TransferHost{"zed"}, kT0 + 10);
  EXPECT_EQ(state_, before);
  const auto& err = event_at<pr::ErrorEvent>(fx, 0);
  EXPECT_EQ(err.code, pr::ErrorCode::bad_request);
  EXPECT_EQ(err.message, "targetUserId is not in the room");
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
}

TEST_F(ControlTest, HostTogglesGuestControl) {
  Effects fx = send("alice", pr::ToggleGuestControl{true}, kT0 + 10);
  EXPECT_TRUE(state_.guest_control_enabled);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  EXPECT_TRUE(event_at<pr::GuestControlEvent>(fx, 0).enabled);
  EXPECT_EQ(must_record(fx, "GUEST_CONTROL").data.at("enabled"), true);

  fx = send("alice", pr::ToggleGuestControl{false}, kT0 + 11);
  EXPECT_FALSE(state_.guest_control_enabled);
  EXPECT_FALSE(event_at<pr::GuestControlEvent>(fx, 0).enabled);
}

TEST_F(ControlTest, GuestCannotToggleGuestControl) {
  const RoomState before = state_;
  const Effects fx = send("bob", pr::ToggleGuestControl{true}, kT0 + 10);
  EXPECT_EQ(state_, before);
  EXPECT_EQ(event_at<pr::ErrorEvent>(fx, 0).code, pr::ErrorCode::forbidden);
}

// The three playback commands a guest may only send while guest control is on.
struct GuestCommandCase {
  const char* name;
  pr::Command command;
};

class GuestControlTest : public RoomTest, public ::testing::WithParamInterface<GuestCommandCase> {
 protected:
  void SetUp() override { join_all({"alice", "bob"}); }
};

TEST_P(GuestControlTest, RefusedWhileGuestControlIsOff) {
  const RoomState before = state_;
  const Effects fx = send("bob", GetParam().command, kT0 + 10);
  EXPECT_FALSE(fx.changed);
  EXPECT_EQ(state_, before);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  const auto& err = event_at<pr::ErrorEvent>(fx, 0);
  EXPECT_EQ(err.code, pr::ErrorCode::forbidden);
  EXPECT_EQ(err.message, "Only the host can control playback");
  EXPECT_TRUE(fx.records.empty());
  EXPECT_TRUE(fx.timers.empty());
}

TEST_P(GuestControlTest, AcceptedWhileGuestControlIsOn) {
  send("alice", pr::ToggleGuestControl{true}, kT0 + 5);
  const Effects fx = send("bob", GetParam().command, kT0 + 10);
  EXPECT_TRUE(fx.changed);
  EXPECT_EQ(first_event<pr::ErrorEvent>(fx), nullptr);
  EXPECT_FALSE(fx.deliveries.empty());
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
}

TEST_P(GuestControlTest, HostIsNeverRefused) {
  const Effects fx = send("alice", GetParam().command, kT0 + 10);
  EXPECT_TRUE(fx.changed);
  EXPECT_EQ(first_event<pr::ErrorEvent>(fx), nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    PlaybackCommands, GuestControlTest,
    ::testing::Values(
        GuestCommandCase{"PlayPause", pr::PlayPause{pr::Control::play, 12.0, std::nullopt}},
        GuestCommandCase{"Seek", pr::Seek{30.0, true, std::nullopt}},
        GuestCommandCase{"UrlChange", pr::UrlChange{"https://www.netflix.com/watch/2", 0.0}}),
    [](const ::testing::TestParamInfo<GuestCommandCase>& info) { return info.param.name; });

}  // namespace
}  // namespace tandem::room::test
