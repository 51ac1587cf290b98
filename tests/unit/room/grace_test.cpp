// Dropped connections: the reconnect grace period, resume, expiry, sweep.
#include "room_test_support.hpp"

namespace tandem::room::test {
namespace {

class GraceTest : public RoomTest {
 protected:
  void SetUp() override { join_all({"alice", "bob", "carol"}); }

  Effects grace_timer(const TimerRequest& t, Millis now) {
    return machine().on_timer(state_, t.kind, t.token, t.user_id, now);
  }
};

TEST_F(GraceTest, DisconnectKeepsTheMemberAndArmsATimer) {
  const std::uint64_t version = state_.version;
  const Effects fx = drop("alice", kT0 + 100);

  EXPECT_TRUE(fx.changed);
  EXPECT_FALSE(fx.left);
  EXPECT_TRUE(fx.deliveries.empty());  // the others see nothing yet
  EXPECT_EQ(state_.version, version + 1);
  const Member& alice = member("alice");
  EXPECT_FALSE(alice.connected);
  EXPECT_EQ(alice.disconnected_at, kT0 + 100);
  EXPECT_EQ(state_.host_user_id, "alice");  // host stays host
  ASSERT_EQ(fx.timers.size(), 1U);
  EXPECT_EQ(fx.timers[0].kind, TimerKind::grace);
  EXPECT_EQ(fx.timers[0].token, static_cast<std::uint64_t>(kT0 + 100));
  EXPECT_EQ(fx.timers[0].user_id, "alice");
  EXPECT_EQ(fx.timers[0].at, kT0 + 100 + 10'000);
}

TEST_F(GraceTest, ResumeWithinGraceIsInvisibleToOthersButUserJoined) {
  const Effects dropped = drop("bob", kT0 + 100);
  const Effects fx = join("bob", kT0 + 3'000, std::nullopt, std::nullopt, "peer-bob-2");

  EXPECT_TRUE(fx.joined);
  EXPECT_TRUE(fx.closes.empty());  // the old connection is already gone
  EXPECT_EQ(count_events<pr::UserLeftEvent>(fx), 0U);
  const auto joined = deliveries_of<pr::UserJoinedEvent>(fx);
  ASSERT_EQ(joined.size(), 1U);
  EXPECT_EQ(joined[0]->audience, Audience::all_except);
  EXPECT_EQ(joined[0]->user_id, "bob");
  const Member& bob = member("bob");
  EXPECT_TRUE(bob.connected);
  EXPECT_EQ(bob.disconnected_at, 0);
  EXPECT_EQ(bob.join_seq, 2U);
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"alice", "bob", "carol"}));

  // The grace timer of the absence that ended is now stale.
  const RoomState before = state_;
  EXPECT_TRUE(is_empty(grace_timer(dropped.timers.at(0), kT0 + 10'100)));
  EXPECT_EQ(state_, before);
}

TEST_F(GraceTest, HostResumingStaysHost) {
  drop("alice", kT0 + 100);
  join("alice", kT0 + 200, std::nullopt, std::nullopt, "peer-alice-2");
  EXPECT_EQ(state_.host_user_id, "alice");
}

TEST_F(GraceTest, ExpiryRemovesAndReelectsTheHost) {
  const Effects dropped = drop("alice", kT0 + 100);
  const Effects fx = grace_timer(dropped.timers.at(0), kT0 + 10'100);

  EXPECT_TRUE(fx.changed);
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"bob", "carol"}));
  EXPECT_EQ(state_.host_user_id, "bob");
  ASSERT_EQ(fx.deliveries.size(), 2U);
  EXPECT_EQ(event_at<pr::HostChangedEvent>(fx, 0).host_user_id, "bob");
  const auto& left = event_at<pr::UserLeftEvent>(fx, 1);
  EXPECT_EQ(left.user_id, "alice");
  EXPECT_EQ(left.peer_id, peer_of("alice"));
  EXPECT_EQ(must_record(fx, "LEAVE").data.at("reason"), "grace_expired");
  EXPECT_EQ(must_record(fx, "HOST_CHANGED").data.at("reason"), "grace_expired");
}

TEST_F(GraceTest, ExpiryPrefersAConnectedSuccessor) {
  drop("bob", kT0 + 50);
  const Effects dropped = drop("alice", kT0 + 100);
  grace_timer(dropped.timers.at(0), kT0 + 10'100);
  EXPECT_EQ(state_.host_user_id, "carol");
}

TEST_F(GraceTest, TimerOfAnEarlierAbsenceIsIgnored) {
  const Effects first = drop("bob", kT0 + 100);
  join("bob", kT0 + 200, std::nullopt, std::nullopt, "peer-bob-2");
  const Effects second = drop("bob", kT0 + 5'000);
  ASSERT_NE(first.timers.at(0).token, second.timers.at(0).token);

  EXPECT_TRUE(is_empty(grace_timer(first.timers.at(0), kT0 + 10'100)));
  EXPECT_NE(state_.find_member("bob"), nullptr);
  EXPECT_FALSE(grace_timer(second.timers.at(0), kT0 + 15'000).deliveries.empty());
  EXPECT_EQ(state_.find_member("bob"), nullptr);
}

TEST_F(GraceTest, ZeroGraceLeavesImmediately) {
  config_.reconnect_grace = 0;
  const Effects fx = drop("alice", kT0 + 100);
  EXPECT_TRUE(fx.left);
  EXPECT_TRUE(fx.timers.empty());
  EXPECT_EQ(state_.find_member("alice"), nullptr);
  EXPECT_EQ(state_.host_user_id, "bob");
  EXPECT_EQ(count_events<pr::HostChangedEvent>(fx), 1U);
  EXPECT_EQ(count_events<pr::UserLeftEvent>(fx), 1U);
  EXPECT_EQ(must_record(fx, "LEAVE").data.at("reason"), "grace_expired");
}

TEST_F(GraceTest, CloseOfAReplacedConnectionChangesNothing) {
  join("bob", kT0 + 100, std::nullopt, std::nullopt, "peer-bob-2");
  const RoomState before = state_;
  // The old socket's close arrives after the new JOIN.
  const Effects fx = machine().disconnect(state_, "bob", peer_of("bob"), kT0 + 200);
  EXPECT_TRUE(is_empty(fx));
  EXPECT_EQ(state_, before);
  EXPECT_TRUE(member("bob").connected);
}

TEST_F(GraceTest, CloseOfAReplacedConnectionChangesNothingWithZeroGrace) {
  config_.reconnect_grace = 0;
  join("bob", kT0 + 100, std::nullopt, std::nullopt, "peer-bob-2");
  EXPECT_TRUE(is_empty(machine().disconnect(state_, "bob", peer_of("bob"), kT0 + 200)));
  EXPECT_NE(state_.find_member("bob"), nullptr);
}

TEST_F(GraceTest, SecondCloseAndUnknownMemberDoNothing) {
  drop("bob", kT0 + 100);
  const RoomState before = state_;
  EXPECT_TRUE(is_empty(machine().disconnect(state_, "bob", peer_of("bob"), kT0 + 200)));
  EXPECT_TRUE(is_empty(machine().disconnect(state_, "zed", "peer-zed", kT0 + 200)));
  EXPECT_EQ(state_, before);
}

TEST_F(GraceTest, RejoinAfterReplacedConnectionRequestsItsClose) {
  const Effects fx = join("carol", kT0 + 100, std::nullopt, std::nullopt, "peer-carol-2");
  ASSERT_EQ(fx.closes.size(), 1U);
  EXPECT_EQ(fx.closes[0].peer_id, peer_of("carol"));
  EXPECT_EQ(fx.closes[0].code, 1000);
}

TEST_F(GraceTest, EveryoneGoneByGraceArchives) {
  const TimerRequest a = drop("alice", kT0 + 100).timers.at(0);
  const TimerRequest b = drop("bob", kT0 + 100).timers.at(0);
  const TimerRequest c = drop("carol", kT0 + 100).timers.at(0);
  EXPECT_FALSE(grace_timer(a, kT0 + 10'100).archived);
  EXPECT_FALSE(grace_timer(b, kT0 + 10'100).archived);
  const Effects last = grace_timer(c, kT0 + 10'100);
  EXPECT_TRUE(last.archived);
  EXPECT_TRUE(state_.members.empty());
}

TEST_F(GraceTest, ResumeBeforeExpiryKeepsAnAllDisconnectedRoom) {
  drop("alice", kT0 + 100);
  drop("bob", kT0 + 100);
  drop("carol", kT0 + 100);
  // Nobody connected, but the room is not empty: it is not archived, and the JOIN resumes.
  const Effects fx = join("carol", kT0 + 5'000, std::nullopt, std::nullopt, "peer-carol-2");
  EXPECT_FALSE(fx.archived);
  EXPECT_EQ(find_record(fx, "ROOM_CREATED"), nullptr);
  EXPECT_EQ(must_record(fx, "JOIN").data.at("resumed"), true);
  EXPECT_EQ(state_.host_user_id, "alice");
}

TEST_F(GraceTest, SweepRemovesExpiredMembersAndIsIdempotent) {
  drop("alice", kT0 + 100);
  drop("carol", kT0 + 5'000);

  EXPECT_TRUE(is_empty(machine().sweep(state_, kT0 + 10'099)));
  const Effects fx = machine().sweep(state_, kT0 + 10'100);
  EXPECT_TRUE(fx.changed);
  EXPECT_FALSE(fx.left);
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"bob", "carol"}));
  EXPECT_EQ(state_.host_user_id, "bob");
  EXPECT_EQ(must_record(fx, "LEAVE").data.at("reason"), "grace_expired");

  const RoomState after = state_;
  EXPECT_TRUE(is_empty(machine().sweep(state_, kT0 + 10'100)));
  EXPECT_EQ(state_, after);

  const Effects later = machine().sweep(state_, kT0 + 15'000);
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"bob"}));
  EXPECT_EQ(count_events<pr::UserLeftEvent>(later), 1U);
}

TEST_F(GraceTest, SweepCanEmptyTheRoom) {
  drop("alice", kT0 + 100);
  drop("bob", kT0 + 100);
  drop("carol", kT0 + 100);
  const Effects fx = machine().sweep(state_, kT0 + 20'000);
  EXPECT_TRUE(fx.archived);
  EXPECT_TRUE(state_.members.empty());
  EXPECT_EQ(state_.version, 7U);  // 3 joins + 3 drops + one sweep
}

TEST_F(GraceTest, SweepHandlesGateAndGraceTogether) {
  send("alice", pr::Seek{10.0, true, std::nullopt}, kT0 + 100);
  drop("carol", kT0 + 200);
  const Effects fx = machine().sweep(state_, kT0 + 20'000);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::timeout);
  EXPECT_EQ(state_.find_member("carol"), nullptr);
  // The gate's PLAY_PAUSE comes first, then USER_LEFT.
  ASSERT_EQ(fx.deliveries.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<pr::PlayPauseEvent>(fx.deliveries[0].event));
  EXPECT_TRUE(std::holds_alternative<pr::UserLeftEvent>(fx.deliveries[1].event));
}

}  // namespace
}  // namespace tandem::room::test
