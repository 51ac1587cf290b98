// Playback and chatter: PLAY_PAUSE, SEEK, HOST_HEARTBEAT, POSITION_UPDATE, PING,
// URL_CHANGE, REQUEST_SYNC, UPDATE_USERNAME, and the version bookkeeping.
#include "room_test_support.hpp"

namespace tandem::room::test {
namespace {

class PlaybackTest : public RoomTest {
 protected:
  void SetUp() override { join_all({"alice", "bob"}); }
};

TEST_F(PlaybackTest, PlayPauseWithPositionSetsTheRoomAndEchoesAsSent) {
  const Effects fx =
      send("alice", pr::PlayPause{pr::Control::play, 12.5, 1'699'999'999'000.0}, kT0 + 10);
  EXPECT_TRUE(state_.is_playing);
  EXPECT_DOUBLE_EQ(state_.current_time, 12.5);
  EXPECT_EQ(state_.position_at, kT0 + 10);

  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);  // sender included
  const auto& e = event_at<pr::PlayPauseEvent>(fx, 0);
  EXPECT_EQ(e.user_id, "alice");
  EXPECT_EQ(e.control, pr::Control::play);
  EXPECT_EQ(e.current_time, 12.5);
  EXPECT_EQ(e.event_timestamp, 1'699'999'999'000.0);
  const Record* r = find_record(fx, "PLAY_PAUSE");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->data.at("control"), "play");
  EXPECT_EQ(r->data.at("currentTime"), 12.5);
}

TEST_F(PlaybackTest, PauseWithoutPositionFreezesWhereThePlaybackIs) {
  send("alice", pr::PlayPause{pr::Control::play, 100.0, std::nullopt}, kT0 + 10);
  const Effects fx =
      send("alice", pr::PlayPause{pr::Control::pause, std::nullopt, std::nullopt}, kT0 + 2'010);
  EXPECT_FALSE(state_.is_playing);
  EXPECT_DOUBLE_EQ(state_.current_time, 102.0);
  EXPECT_EQ(state_.position_at, kT0 + 2'010);
  const auto& e = event_at<pr::PlayPauseEvent>(fx, 0);
  EXPECT_FALSE(e.current_time.has_value());  // as sent
  EXPECT_FALSE(e.event_timestamp.has_value());
  // Paused: time passing changes nothing.
  EXPECT_DOUBLE_EQ(state_.position(kT0 + 60'000), 102.0);
}

TEST_F(PlaybackTest, PlayWithoutPositionResumesFromThePausedPosition) {
  send("alice", pr::PlayPause{pr::Control::pause, 40.0, std::nullopt}, kT0 + 10);
  send("alice", pr::PlayPause{pr::Control::play, std::nullopt, std::nullopt}, kT0 + 5'010);
  EXPECT_DOUBLE_EQ(state_.current_time, 40.0);
  EXPECT_DOUBLE_EQ(state_.position(kT0 + 8'010), 43.0);
}

TEST_F(PlaybackTest, SeekPausesAtTargetAndDefaultsEventTimestampToNow) {
  send("alice", pr::PlayPause{pr::Control::play, 10.0, std::nullopt}, kT0 + 10);
  const Effects fx = send("alice", pr::Seek{300.0, true, std::nullopt}, kT0 + 20);
  EXPECT_FALSE(state_.is_playing);
  EXPECT_DOUBLE_EQ(state_.current_time, 300.0);
  EXPECT_EQ(state_.position_at, kT0 + 20);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  const auto& e = event_at<pr::SeekPauseEvent>(fx, 0);
  EXPECT_EQ(e.user_id, "alice");
  EXPECT_DOUBLE_EQ(e.current_time, 300.0);
  EXPECT_DOUBLE_EQ(e.event_timestamp, static_cast<double>(kT0 + 20));
  const Record* r = find_record(fx, "SEEK");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->data.at("currentTime"), 300.0);
  EXPECT_EQ(r->data.at("isPlaying"), true);
}

TEST_F(PlaybackTest, SeekPassesTheClientsEventTimestamp) {
  const Effects fx = send("alice", pr::Seek{5.0, false, 123.0}, kT0 + 20);
  EXPECT_DOUBLE_EQ(event_at<pr::SeekPauseEvent>(fx, 0).event_timestamp, 123.0);
}

TEST_F(PlaybackTest, HostHeartbeatUpdatesRoomAndHostAndIsBroadcast) {
  const Effects fx = send("alice", pr::HostHeartbeat{77.0, true, std::nullopt}, kT0 + 50);
  EXPECT_TRUE(fx.changed);
  EXPECT_TRUE(fx.coalesce);
  EXPECT_TRUE(fx.records.empty());  // never in the audit log
  EXPECT_DOUBLE_EQ(state_.current_time, 77.0);
  EXPECT_TRUE(state_.is_playing);
  EXPECT_EQ(state_.position_at, kT0 + 50);
  EXPECT_DOUBLE_EQ(member("alice").current_time, 77.0);
  EXPECT_TRUE(member("alice").is_playing);
  EXPECT_EQ(member("alice").last_heartbeat, kT0 + 50);

  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  const auto& e = event_at<pr::HostHeartbeatEvent>(fx, 0);
  EXPECT_EQ(e.user_id, "alice");
  EXPECT_DOUBLE_EQ(e.current_time, 77.0);
  EXPECT_TRUE(e.is_playing);
  EXPECT_DOUBLE_EQ(e.event_timestamp, static_cast<double>(kT0 + 50));

  const Effects fx2 = send("alice", pr::HostHeartbeat{78.0, true, 999.0}, kT0 + 60);
  EXPECT_DOUBLE_EQ(event_at<pr::HostHeartbeatEvent>(fx2, 0).event_timestamp, 999.0);
}

TEST_F(PlaybackTest, GuestHeartbeatIsIgnoredSilently) {
  const RoomState before = state_;
  const Effects fx = send("bob", pr::HostHeartbeat{77.0, true, std::nullopt}, kT0 + 50);
  EXPECT_TRUE(is_empty(fx));
  EXPECT_EQ(state_, before);
}

TEST_F(PlaybackTest, GuestPositionUpdateTouchesOnlyItsMember) {
  const Effects fx = send("bob", pr::PositionUpdate{55.0, true}, kT0 + 50);
  EXPECT_TRUE(fx.changed);
  EXPECT_TRUE(fx.coalesce);
  EXPECT_TRUE(fx.deliveries.empty());
  EXPECT_TRUE(fx.records.empty());
  EXPECT_DOUBLE_EQ(member("bob").current_time, 55.0);
  EXPECT_TRUE(member("bob").is_playing);
  EXPECT_EQ(member("bob").last_heartbeat, kT0 + 50);
  EXPECT_DOUBLE_EQ(state_.current_time, 0.0);
  EXPECT_FALSE(state_.is_playing);
}

TEST_F(PlaybackTest, HostPositionUpdateAlsoMovesTheRoom) {
  send("alice", pr::PositionUpdate{55.0, true}, kT0 + 50);
  EXPECT_DOUBLE_EQ(state_.current_time, 55.0);
  EXPECT_TRUE(state_.is_playing);
  EXPECT_EQ(state_.position_at, kT0 + 50);
}

TEST_F(PlaybackTest, PositionUpdateAtZeroIsIgnored) {
  const RoomState before = state_;
  EXPECT_TRUE(is_empty(send("alice", pr::PositionUpdate{0.0, true}, kT0 + 50)));
  EXPECT_EQ(state_, before);
}

TEST_F(PlaybackTest, PingAnswersPongToSenderAndRefreshesHeartbeat) {
  const Effects fx = send("bob", pr::Ping{}, kT0 + 70);
  EXPECT_TRUE(fx.changed);
  EXPECT_TRUE(fx.coalesce);
  EXPECT_EQ(member("bob").last_heartbeat, kT0 + 70);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  EXPECT_TRUE(std::holds_alternative<pr::PongEvent>(fx.deliveries[0].event));
}

TEST_F(PlaybackTest, UrlChangeSetsUrlAndPositionButNotPlayState) {
  send("alice", pr::PlayPause{pr::Control::play, 500.0, std::nullopt}, kT0 + 10);
  Effects fx =
      send("alice", pr::UrlChange{"https://www.netflix.com/watch/9", std::nullopt}, kT0 + 20);
  EXPECT_EQ(state_.url, "https://www.netflix.com/watch/9");
  EXPECT_DOUBLE_EQ(state_.current_time, 0.0);
  EXPECT_EQ(state_.position_at, kT0 + 20);
  EXPECT_TRUE(state_.is_playing);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  const auto& e = event_at<pr::UrlChangeEvent>(fx, 0);
  EXPECT_EQ(e.user_id, "alice");
  EXPECT_EQ(e.url, "https://www.netflix.com/watch/9");
  EXPECT_DOUBLE_EQ(e.current_time, 0.0);
  EXPECT_EQ(must_record(fx, "URL_CHANGE").data.at("url"), "https://www.netflix.com/watch/9");

  fx = send("alice", pr::UrlChange{"https://www.netflix.com/watch/10", 15.0}, kT0 + 30);
  EXPECT_DOUBLE_EQ(state_.current_time, 15.0);
  EXPECT_DOUBLE_EQ(event_at<pr::UrlChangeEvent>(fx, 0).current_time, 15.0);
}

TEST_F(PlaybackTest, RequestSyncAnswersTheSenderOnly) {
  send("alice", pr::UrlChange{"https://www.netflix.com/watch/3", 20.0}, kT0);
  send("alice", pr::PlayPause{pr::Control::play, 20.0, std::nullopt}, kT0);
  const RoomState before = state_;

  const Effects fx = send("bob", pr::RequestSync{true}, kT0 + 1'500);
  EXPECT_FALSE(fx.changed);
  EXPECT_EQ(state_, before);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  const auto& e = event_at<pr::SyncResponseEvent>(fx, 0);
  EXPECT_DOUBLE_EQ(e.current_time, 21.5);  // extrapolated
  EXPECT_TRUE(e.is_playing);
  EXPECT_EQ(e.url, "https://www.netflix.com/watch/3");
}

TEST_F(PlaybackTest, UpdateUsernameSetsAndBroadcasts) {
  Effects fx = send("bob", pr::UpdateUsername{"Bobby"}, kT0 + 5);
  EXPECT_EQ(member("bob").username, "Bobby");
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  const auto& e = event_at<pr::UsernameUpdatedEvent>(fx, 0);
  EXPECT_EQ(e.user_id, "bob");
  EXPECT_EQ(e.username, "Bobby");
  EXPECT_EQ(must_record(fx, "USERNAME_CHANGED").data.at("username"), "Bobby");

  fx = send("bob", pr::UpdateUsername{std::nullopt}, kT0 + 6);
  EXPECT_FALSE(member("bob").username.has_value());
  EXPECT_FALSE(event_at<pr::UsernameUpdatedEvent>(fx, 0).username.has_value());
  EXPECT_TRUE(must_record(fx, "USERNAME_CHANGED").data.at("username").is_null());
}

TEST_F(PlaybackTest, EveryChangeBumpsVersionOnceAndStampsUpdatedAt) {
  std::uint64_t v = state_.version;
  EXPECT_EQ(v, 2U);  // two joins

  send("alice", pr::PlayPause{pr::Control::play, 1.0, std::nullopt}, kT0 + 100);
  EXPECT_EQ(state_.version, ++v);
  EXPECT_EQ(state_.updated_at, kT0 + 100);

  send("bob", pr::Ping{}, kT0 + 200);
  EXPECT_EQ(state_.version, ++v);
  EXPECT_EQ(state_.updated_at, kT0 + 200);

  // A SEEK that replaces a gate changes several things: still one version step.
  send("alice", pr::Seek{5.0, true, std::nullopt}, kT0 + 300);
  send("alice", pr::Seek{6.0, true, std::nullopt}, kT0 + 400);
  v += 2;
  EXPECT_EQ(state_.version, v);

  // Nothing changed, nothing bumped.
  send("bob", pr::RequestSync{}, kT0 + 500);
  send("bob", pr::HostHeartbeat{1.0, true, std::nullopt}, kT0 + 500);
  send("bob", pr::PlayPause{pr::Control::play, 1.0, std::nullopt}, kT0 + 500);  // forbidden
  EXPECT_EQ(state_.version, v);
  EXPECT_EQ(state_.updated_at, kT0 + 400);
}

}  // namespace
}  // namespace tandem::room::test
