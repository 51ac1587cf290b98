// Scheduled playback and sync measurement (docs/SYNC.md): capabilities kept from JOIN, the
// lead of a start, the timeline given to members that follow it (and only to them), the
// round trip the connection measured, timed position reports and the spread, and the new
// member fields in the snapshot.
#include "room/room_codec.hpp"
#include "room/sync_spread.hpp"
#include "room_test_support.hpp"

#include <cmath>

namespace tandem::room::test {
namespace {

constexpr pr::Capabilities kSync = pr::kAnnounced | pr::kClockSync | pr::kScheduledPlayback;

class SyncTest : public RoomTest {
 protected:
  Effects join_with(const std::string& user, pr::Capabilities capabilities,
                    std::optional<double> rtt = std::nullopt, Millis now = kT0) {
    pr::Join cmd{state_.id, user, std::nullopt, std::nullopt, capabilities, rtt};
    return machine().apply(state_, Actor{user, peer_of(user), "node-a"}, cmd, now);
  }

  Effects report(const std::string& user, double position, std::optional<double> sampled_at,
                 Millis now) {
    pr::PositionUpdate update{position, true, sampled_at};
    return send(user, update, now);
  }
};

// ---- lead choice ----------------------------------------------------------------------

TEST_F(SyncTest, NoMemberFollowsTheTimeline_NoLead) {
  join_all({"alice", "bob"});
  EXPECT_EQ(choose_lead(state_, config_.sync), 0);
}

TEST_F(SyncTest, LeadCoversTheSlowestCapableMemberPlusTheMargin) {
  join_with("alice", kSync, 2.0);
  join_with("bob", kSync, 300.0);
  join_with("carol", 0, 5'000.0);  // an old client: it starts at once anyway, not counted
  EXPECT_EQ(choose_lead(state_, config_.sync), 150 + config_.sync.lead_margin);
  state_.find_member("bob")->connected = false;  // inside its grace: nobody waits for it
  EXPECT_EQ(choose_lead(state_, config_.sync), 1 + config_.sync.lead_margin);
}

TEST_F(SyncTest, LeadIsBounded) {
  config_.sync.lead_margin = 10;
  join_with("alice", kSync, 0.0);  // not measured: the margin alone, raised to the minimum
  EXPECT_EQ(choose_lead(state_, config_.sync), config_.sync.lead_min);
  join_with("bob", kSync, 10'000.0);
  EXPECT_EQ(choose_lead(state_, config_.sync), config_.sync.lead_max);
}

// ---- capabilities and the round trip from JOIN ----------------------------------------

TEST_F(SyncTest, JoinKeepsTheKnownCapabilitiesAndTheMeasuredRoundTrip) {
  const Effects fx = join_with("alice", kSync, 42.0);
  EXPECT_EQ(member("alice").capabilities, pr::kClockSync | pr::kScheduledPlayback);
  EXPECT_DOUBLE_EQ(member("alice").rtt_ms, 42.0);
  const auto& room_state = must_event<pr::RoomStateEvent>(fx);
  EXPECT_TRUE(room_state.answer_capabilities);
  ASSERT_TRUE(room_state.timeline);
  EXPECT_FALSE(room_state.timeline->playing);
}

TEST_F(SyncTest, AnAnnouncementWithNothingKnownIsStillAnswered) {
  const Effects fx = join_with("alice", pr::kAnnounced);
  EXPECT_EQ(member("alice").capabilities, 0U);
  EXPECT_TRUE(must_event<pr::RoomStateEvent>(fx).answer_capabilities);
  EXPECT_FALSE(must_event<pr::RoomStateEvent>(fx).timeline);
}

TEST_F(SyncTest, AnOldClientsJoinIsAnsweredAsAlways) {
  const Effects fx = join("alice");
  EXPECT_FALSE(must_event<pr::RoomStateEvent>(fx).answer_capabilities);
  EXPECT_FALSE(must_event<pr::RoomStateEvent>(fx).timeline);
}

TEST_F(SyncTest, AResumeTakesTheNewCapabilitiesAndKeepsAnUnmeasuredRoundTrip) {
  join_with("alice", kSync, 80.0);
  join_with("alice", pr::kAnnounced | pr::kClockSync);  // a reload, nothing measured yet
  EXPECT_EQ(member("alice").capabilities, pr::kClockSync);
  EXPECT_DOUBLE_EQ(member("alice").rtt_ms, 80.0);
  join_with("alice", 0, 120.0);
  EXPECT_DOUBLE_EQ(member("alice").rtt_ms, 120.0);
}

TEST_F(SyncTest, AClockAckCarryingAnEstimateUpdatesTheMemberQuietly) {
  join_with("alice", kSync);
  const Effects fx = send("alice", pr::ClockAck{3, 250.0}, kT0 + 5);
  EXPECT_DOUBLE_EQ(member("alice").rtt_ms, 250.0);
  EXPECT_TRUE(fx.changed);
  EXPECT_TRUE(fx.coalesce);
  EXPECT_TRUE(fx.deliveries.empty());
  EXPECT_TRUE(fx.records.empty());
}

TEST_F(SyncTest, AClockRequestThatReachesTheRoomIsStillAnswered) {
  join_with("alice", kSync);
  const Effects fx = send("alice", pr::ClockRequest{9, 1.5}, kT0 + 7);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  const auto& reply = must_event<pr::ClockReplyEvent>(fx);
  EXPECT_EQ(reply.seq, 9U);
  EXPECT_DOUBLE_EQ(reply.client_time, 1.5);
  EXPECT_DOUBLE_EQ(reply.server_received, static_cast<double>(kT0 + 7));
  EXPECT_FALSE(fx.changed);
}

// ---- scheduled starts -------------------------------------------------------------------

TEST_F(SyncTest, APlayIsScheduledLeadAheadAndCarriesTheTimeline) {
  join_with("alice", kSync, 10.0);
  join_with("bob", kSync, 300.0);
  const Millis lead = 150 + config_.sync.lead_margin;
  const Effects fx = send("alice", pr::PlayPause{pr::Control::play, 20.0, 1.0}, kT0 + 100);
  EXPECT_EQ(state_.position_at, kT0 + 100 + lead);
  EXPECT_DOUBLE_EQ(state_.position(kT0 + 100), 20.0);  // not started yet
  EXPECT_DOUBLE_EQ(state_.position(kT0 + 100 + lead + 500), 20.5);
  const auto& e = must_event<pr::PlayPauseEvent>(fx);
  EXPECT_EQ(e.current_time, 20.0);  // what old clients get: as sent
  EXPECT_EQ(e.event_timestamp, 1.0);
  ASSERT_TRUE(e.timeline);
  EXPECT_EQ(*e.timeline, (pr::Timeline{20.0, true, kT0 + 100 + lead}));
}

TEST_F(SyncTest, APauseCarriesThePositionToStopAt) {
  join_with("alice", kSync);
  send("alice", pr::PlayPause{pr::Control::play, 20.0, std::nullopt}, kT0);
  const Millis start = state_.position_at;
  const Effects fx = send("alice", pr::PlayPause{pr::Control::pause, std::nullopt, std::nullopt},
                          start + 2'500);
  const auto& e = must_event<pr::PlayPauseEvent>(fx);
  ASSERT_TRUE(e.timeline);
  EXPECT_FALSE(e.timeline->playing);
  EXPECT_DOUBLE_EQ(e.timeline->position, 22.5);
  EXPECT_EQ(state_.position_at, start + 2'500);
}

TEST_F(SyncTest, WithoutCapableMembersAPlayStartsAtOnceAsAlways) {
  join_all({"alice", "bob"});
  send("alice", pr::PlayPause{pr::Control::play, 20.0, std::nullopt}, kT0 + 100);
  EXPECT_EQ(state_.position_at, kT0 + 100);
}

TEST_F(SyncTest, TheGateReleaseIsScheduledToo) {
  join_with("alice", kSync, 100.0);
  join_with("bob", kSync, 100.0);
  send("alice", pr::Seek{60.0, true, std::nullopt}, kT0 + 10);
  send("alice", pr::Ready{60.0}, kT0 + 20);
  const Effects fx = send("bob", pr::Ready{60.0}, kT0 + 30);
  const auto& e = must_event<pr::PlayPauseEvent>(fx);
  EXPECT_EQ(e.user_id, "server");
  EXPECT_EQ(e.event_timestamp, static_cast<double>(kT0 + 30));
  ASSERT_TRUE(e.timeline);
  EXPECT_EQ(*e.timeline, (pr::Timeline{60.0, true, kT0 + 30 + 50 + config_.sync.lead_margin}));
}

TEST_F(SyncTest, ACapableHostsHeartbeatDoesNotMoveTheRoom) {
  join_with("alice", kSync);
  send("alice", pr::PlayPause{pr::Control::play, 20.0, std::nullopt}, kT0);
  const RoomState before = state_;
  const Effects fx = send("alice", pr::HostHeartbeat{25.3, true, std::nullopt}, kT0 + 5'000);
  EXPECT_EQ(state_.current_time, before.current_time);
  EXPECT_EQ(state_.position_at, before.position_at);
  const auto& e = must_event<pr::HostHeartbeatEvent>(fx);
  EXPECT_DOUBLE_EQ(e.current_time, 25.3);  // what old clients get: as sent
  ASSERT_TRUE(e.timeline);
  EXPECT_EQ(*e.timeline, (pr::Timeline{20.0, true, before.position_at}));
}

TEST_F(SyncTest, AnOldHostsHeartbeatMovesTheRoomAndCapableGuestsLearnIt) {
  join("alice");
  join_with("bob", kSync);
  const Effects fx = send("alice", pr::HostHeartbeat{25.0, true, std::nullopt}, kT0 + 5'000);
  EXPECT_EQ(state_.position_at, kT0 + 5'000);
  EXPECT_EQ(*must_event<pr::HostHeartbeatEvent>(fx).timeline,
            (pr::Timeline{25.0, true, kT0 + 5'000}));
}

TEST_F(SyncTest, SyncResponseCarriesTheTimelineOnlyForACapableSender) {
  join_with("alice", kSync);
  join("bob");
  send("alice", pr::PlayPause{pr::Control::play, 20.0, std::nullopt}, kT0);
  EXPECT_TRUE(must_event<pr::SyncResponseEvent>(send("alice", pr::RequestSync{}, kT0 + 1)).timeline);
  EXPECT_FALSE(must_event<pr::SyncResponseEvent>(send("bob", pr::RequestSync{}, kT0 + 1)).timeline);
}

// ---- timed reports and the spread ----------------------------------------------------------

class SpreadTest : public SyncTest {
 protected:
  void SetUp() override {
    join_with("alice", kSync, 2.0);
    join_with("bob", kSync, 300.0);
    join_with("carol", 0);
    send("alice", pr::PlayPause{pr::Control::play, 10.0, std::nullopt}, kT0);
    start_ = state_.position_at;
  }
  // Where the timeline is at `at` (ms), plus `offset` seconds.
  double at(Millis when, double offset = 0) const {
    return 10.0 + static_cast<double>(when - start_) / 1000 + offset;
  }
  Millis start_ = 0;
};

TEST_F(SpreadTest, ATimedReportGivesTheMemberItsOffset) {
  const Millis t = start_ + 2'000;
  const Effects fx = report("bob", at(t, -0.012), static_cast<double>(t), t + 150);
  EXPECT_EQ(member("bob").position_sampled_at, t);
  const auto offset = timeline_offset(state_, member("bob"), t + 150, 3'000);
  ASSERT_TRUE(offset);
  EXPECT_NEAR(*offset, -0.012, 1e-9);
  EXPECT_FALSE(fx.sync_spread);  // one member measured: no spread yet
}

TEST_F(SpreadTest, TheSpreadIsMaxMinusMinOfTheOffsetsAtTheirOwnInstants) {
  const Millis t = start_ + 2'000;
  report("alice", at(t, 0.004), static_cast<double>(t), t);
  // Bob sampled 700 ms later, 20 ms behind: projected along the timeline to one instant.
  const Effects fx = report("bob", at(t + 700, -0.020), static_cast<double>(t + 700), t + 850);
  ASSERT_TRUE(fx.sync_spread);
  EXPECT_NEAR(*fx.sync_spread, 0.024, 1e-9);
  EXPECT_NEAR(*sync_spread(state_, t + 850, 3'000), 0.024, 1e-9);
}

TEST_F(SpreadTest, UntimedStaleOrEarlyReportsDoNotCount) {
  const Millis t = start_ + 2'000;
  report("alice", at(t), static_cast<double>(t), t);
  report("carol", at(t, 0.5), std::nullopt, t);  // an old client: untimed
  EXPECT_EQ(member("carol").position_sampled_at, 0);
  EXPECT_FALSE(sync_spread(state_, t, 3'000));
  // Bob's report was sampled before the start it would be compared with.
  EXPECT_FALSE(report("bob", 10.0, static_cast<double>(start_ - 10), start_ + 100).sync_spread);
  EXPECT_FALSE(timeline_offset(state_, member("bob"), start_ + 100, 3'000));
  // A sampledAt from the far future or past is no timing: kept untimed.
  report("bob", 11.0, static_cast<double>(t + 5'000), t);
  EXPECT_EQ(member("bob").position_sampled_at, 0);
  report("bob", 11.0, static_cast<double>(t - 10'000), t);
  EXPECT_EQ(member("bob").position_sampled_at, 0);
  // Older than report_fresh_for: no longer counted.
  report("bob", at(t), static_cast<double>(t), t);
  EXPECT_TRUE(sync_spread(state_, t + 3'000, 3'000));
  EXPECT_FALSE(sync_spread(state_, t + 3'001, 3'000));
}

TEST_F(SpreadTest, ADisconnectedMemberOrATimelineChangeStopsTheMeasure) {
  const Millis t = start_ + 2'000;
  report("alice", at(t), static_cast<double>(t), t);
  report("bob", at(t, -0.01), static_cast<double>(t), t);
  ASSERT_TRUE(sync_spread(state_, t, 3'000));
  send("alice", pr::PlayPause{pr::Control::play, 50.0, std::nullopt}, t + 10);  // re-anchored
  EXPECT_FALSE(sync_spread(state_, t + 20, 3'000));
  const Millis u = state_.position_at + 1'000;
  report("alice", 51.0, static_cast<double>(u), u);
  report("bob", 51.0, static_cast<double>(u), u);
  ASSERT_TRUE(sync_spread(state_, u, 3'000));
  state_.find_member("bob")->connected = false;
  EXPECT_FALSE(sync_spread(state_, u, 3'000));
}

TEST_F(SpreadTest, APausedRoomIsNotObserved) {
  send("alice", pr::PlayPause{pr::Control::pause, 12.0, std::nullopt}, start_ + 2'000);
  const Millis t = start_ + 2'500;
  report("alice", 12.0, static_cast<double>(t), t);
  EXPECT_FALSE(report("bob", 12.01, static_cast<double>(t), t).sync_spread);
  // ...but the offsets are there (did everyone stop on the same frame?).
  EXPECT_NEAR(*timeline_offset(state_, member("bob"), t, 3'000), 0.01, 1e-9);
}

TEST_F(SpreadTest, ACapableHostsReportDoesNotMoveTheRoom) {
  const Millis t = start_ + 2'000;
  report("alice", at(t, 0.3), static_cast<double>(t), t);
  EXPECT_EQ(state_.position_at, start_);
  EXPECT_DOUBLE_EQ(state_.current_time, 10.0);
}

// ---- the snapshot --------------------------------------------------------------------------

TEST_F(SyncTest, TheNewMemberFieldsSurviveTheSnapshot) {
  join_with("alice", kSync, 123.5);
  state_.find_member("alice")->position_sampled_at = kT0 + 77;
  const auto back = room_state_from_json(to_json_string(state_));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, state_);
}

TEST_F(SyncTest, ASnapshotWrittenBeforeThemReadsWithDefaults) {
  join_with("alice", kSync, 123.5);
  boost::json::object json = to_json(state_);
  boost::json::object& alice = json["members"].as_array()[0].as_object();
  alice.erase("capabilities");
  alice.erase("rtt_ms");
  alice.erase("position_sampled_at");
  const auto back = room_state_from_json(boost::json::value(json));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->members[0].capabilities, 0U);
  EXPECT_EQ(back->members[0].rtt_ms, 0);
  // Unknown capability names are dropped; a wrong type is refused.
  alice["capabilities"] = boost::json::array{"scheduledPlayback", "fromTheFuture"};
  EXPECT_EQ(room_state_from_json(boost::json::value(json))->members[0].capabilities,
            pr::kScheduledPlayback);
  alice["capabilities"] = "scheduledPlayback";
  EXPECT_FALSE(room_state_from_json(boost::json::value(json)));
  alice["capabilities"] = boost::json::array{};
  alice["rtt_ms"] = "fast";
  EXPECT_FALSE(room_state_from_json(boost::json::value(json)));
}

}  // namespace
}  // namespace tandem::room::test
