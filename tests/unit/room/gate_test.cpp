// The ready gate opened by SEEK: quorum, timeout, replacement, cancellation, and that it
// closes exactly once.
#include "room_test_support.hpp"

namespace tandem::room::test {
namespace {

std::vector<std::string> user_names(std::size_t n) {
  std::vector<std::string> users;
  for (std::size_t i = 0; i < n; ++i) users.push_back(std::string("u").append(std::to_string(i)));
  return users;
}

class GateTest : public RoomTest {
 protected:
  void SetUp() override { join_all({"alice", "bob", "carol"}); }

  Effects seek(double target, bool play, Millis now, const std::string& by = "alice") {
    return send(by, pr::Seek{target, play, std::nullopt}, now);
  }
  Effects ready(const std::string& user, Millis now) { return send(user, pr::Ready{}, now); }
  Effects gate_timer(std::uint64_t id, Millis now) {
    return machine().on_timer(state_, TimerKind::gate, id, {}, now);
  }
};

struct QuorumCase {
  std::size_t members;
  std::size_t quorum;
};

class GateQuorumTest : public RoomTest, public ::testing::WithParamInterface<QuorumCase> {};

TEST_P(GateQuorumTest, ClosesAtCeilOfSixtyPercentOfConnectedMembers) {
  const auto [members, quorum] = GetParam();
  const std::vector<std::string> users = user_names(members);
  join_all(users);
  send(users[0], pr::Seek{90.0, true, std::nullopt}, kT0 + 100);
  ASSERT_TRUE(state_.gate.has_value());
  EXPECT_EQ(state_.gate->expected, members);
  EXPECT_EQ(state_.gate->quorum, quorum);

  for (std::size_t i = 0; i + 1 < quorum; ++i) {
    const Effects fx = send(users[i], pr::Ready{}, kT0 + 200);
    EXPECT_TRUE(fx.changed);
    EXPECT_FALSE(fx.gate_outcome.has_value()) << i;
    ASSERT_TRUE(state_.gate.has_value());
  }
  const Effects fx = send(users[quorum - 1], pr::Ready{}, kT0 + 300);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::quorum);
  EXPECT_FALSE(state_.gate.has_value());
  EXPECT_EQ(count_events<pr::PlayPauseEvent>(fx), 1U);
}

INSTANTIATE_TEST_SUITE_P(Sizes, GateQuorumTest,
                         ::testing::Values(QuorumCase{1, 1}, QuorumCase{2, 2}, QuorumCase{3, 2},
                                           QuorumCase{5, 3}, QuorumCase{10, 6}, QuorumCase{15, 9}),
                         [](const ::testing::TestParamInfo<QuorumCase>& info) {
                           return "Members" + std::to_string(info.param.members);
                         });

TEST_F(GateTest, SeekOpensAGateAndArmsItsTimer) {
  const Effects fx = seek(42.0, true, kT0 + 100);
  ASSERT_TRUE(state_.gate.has_value());
  const Gate& gate = *state_.gate;
  EXPECT_EQ(gate.opened_by, "alice");
  EXPECT_EQ(gate.expected, 3U);
  EXPECT_EQ(gate.quorum, 2U);
  EXPECT_DOUBLE_EQ(gate.target, 42.0);
  EXPECT_TRUE(gate.desired_play);
  EXPECT_TRUE(gate.ready.empty());
  EXPECT_EQ(gate.opened_at, kT0 + 100);
  EXPECT_EQ(gate.deadline, kT0 + 100 + 7'000);
  ASSERT_EQ(fx.timers.size(), 1U);
  EXPECT_EQ(fx.timers[0].kind, TimerKind::gate);
  EXPECT_EQ(fx.timers[0].token, gate.id);
  EXPECT_EQ(fx.timers[0].at, gate.deadline);
  EXPECT_FALSE(fx.gate_outcome.has_value());
}

TEST_F(GateTest, ExpectedCountsOnlyConnectedMembers) {
  drop("carol", kT0 + 50);
  seek(42.0, true, kT0 + 100);
  EXPECT_EQ(state_.gate->expected, 2U);
  EXPECT_EQ(state_.gate->quorum, 2U);
}

TEST_F(GateTest, QuorumFractionComesFromConfig) {
  config_.gate_quorum = 1.0;
  seek(42.0, true, kT0 + 100);
  EXPECT_EQ(state_.gate->quorum, 3U);
}

TEST(GateQuorum, FloatingPointDoesNotAskForOneReadyTooMany) {
  // 0.28 * 25 is 7.000000000000001 in binary floating point; the quorum is still 7.
  FakePinHasher hasher;
  RoomConfig config;
  config.gate_quorum = 0.28;
  const RoomMachine machine(config, hasher);
  RoomState state;
  state.id = "r";
  for (int i = 0; i < 25; ++i) {
    const std::string user = std::string("u").append(std::to_string(i));
    machine.apply(state, Actor{user, peer_of(user), "n"},
                  pr::Join{"r", user, std::nullopt, std::nullopt}, kT0 + i);
  }
  machine.apply(state, Actor{"u0", peer_of("u0"), "n"}, pr::Seek{1.0, true, std::nullopt},
                kT0 + 100);
  ASSERT_TRUE(state.gate.has_value());
  EXPECT_EQ(state.gate->quorum, 7U);
}

TEST_F(GateTest, DuplicateReadyCountsOnce) {
  seek(42.0, true, kT0 + 100);
  EXPECT_TRUE(ready("bob", kT0 + 200).changed);
  const RoomState before = state_;
  const Effects fx = ready("bob", kT0 + 300);
  EXPECT_TRUE(is_empty(fx));
  EXPECT_EQ(state_, before);
  EXPECT_EQ(state_.gate->ready, (std::vector<std::string>{"bob"}));
}

TEST_F(GateTest, ReadyWithoutGateDoesNothing) {
  const RoomState before = state_;
  EXPECT_TRUE(is_empty(ready("bob", kT0 + 200)));
  EXPECT_EQ(state_, before);
}

TEST_F(GateTest, QuorumCloseResumesPlaybackStampedWithClosingTime) {
  seek(42.0, true, kT0 + 100);
  ready("bob", kT0 + 1'000);
  const Effects fx = ready("carol", kT0 + 2'500);

  EXPECT_EQ(fx.gate_outcome, GateOutcome::quorum);
  EXPECT_TRUE(state_.is_playing);
  EXPECT_DOUBLE_EQ(state_.current_time, 42.0);
  EXPECT_EQ(state_.position_at, kT0 + 2'500);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  const auto& e = event_at<pr::PlayPauseEvent>(fx, 0);
  EXPECT_EQ(e.user_id, "server");
  EXPECT_EQ(e.control, pr::Control::play);
  EXPECT_EQ(e.current_time, 42.0);
  // The closing time, not the opening time (kT0 + 100): clients add now - eventTimestamp.
  EXPECT_EQ(e.event_timestamp, static_cast<double>(kT0 + 2'500));
}

TEST_F(GateTest, TimeoutViaTimerResumesPlayback) {
  const Effects opened = seek(42.0, true, kT0 + 100);
  ready("bob", kT0 + 200);  // below quorum
  const TimerRequest timer = opened.timers.at(0);

  const Effects fx = gate_timer(timer.token, timer.at);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::timeout);
  EXPECT_TRUE(fx.changed);
  EXPECT_FALSE(state_.gate.has_value());
  EXPECT_TRUE(state_.is_playing);
  const auto& e = event_at<pr::PlayPauseEvent>(fx, 0);
  EXPECT_EQ(e.user_id, "server");
  EXPECT_EQ(e.event_timestamp, static_cast<double>(timer.at));
}

TEST_F(GateTest, TimerForAnotherGateIdIsIgnored) {
  const Effects opened = seek(42.0, true, kT0 + 100);
  const RoomState before = state_;
  EXPECT_TRUE(is_empty(gate_timer(opened.timers.at(0).token + 1000, kT0 + 7'100)));
  EXPECT_EQ(state_, before);
}

TEST_F(GateTest, NewerSeekReplacesTheGateAndTheOldTimerIsIgnored) {
  const Effects first = seek(42.0, true, kT0 + 100);
  ready("bob", kT0 + 200);
  const Effects second = seek(80.0, false, kT0 + 300, "alice");

  EXPECT_EQ(second.gate_outcome, GateOutcome::replaced);
  ASSERT_TRUE(state_.gate.has_value());
  EXPECT_NE(state_.gate->id, first.timers.at(0).token);
  EXPECT_DOUBLE_EQ(state_.gate->target, 80.0);
  EXPECT_FALSE(state_.gate->desired_play);
  EXPECT_TRUE(state_.gate->ready.empty());  // READYs for the old target do not carry over
  EXPECT_EQ(count_events<pr::PlayPauseEvent>(second), 0U);

  const RoomState before = state_;
  EXPECT_TRUE(is_empty(gate_timer(first.timers.at(0).token, kT0 + 7'100)));
  EXPECT_EQ(state_, before);

  const Effects fx = gate_timer(second.timers.at(0).token, kT0 + 7'300);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::timeout);
}

TEST_F(GateTest, ClosesExactlyOnceReadyAfterQuorum) {
  seek(42.0, true, kT0 + 100);
  ready("bob", kT0 + 200);
  ASSERT_EQ(ready("carol", kT0 + 300).gate_outcome, GateOutcome::quorum);
  const RoomState before = state_;
  EXPECT_TRUE(is_empty(ready("alice", kT0 + 400)));
  EXPECT_EQ(state_, before);
}

TEST_F(GateTest, ClosesExactlyOnceTimerAfterQuorum) {
  const Effects opened = seek(42.0, true, kT0 + 100);
  ready("bob", kT0 + 200);
  ready("carol", kT0 + 300);
  const RoomState before = state_;
  EXPECT_TRUE(is_empty(gate_timer(opened.timers.at(0).token, opened.timers.at(0).at)));
  EXPECT_TRUE(is_empty(machine().sweep(state_, kT0 + 60'000)));
  EXPECT_EQ(state_, before);
}

TEST_F(GateTest, ClosesExactlyOnceReadyAfterTimeout) {
  const Effects opened = seek(42.0, true, kT0 + 100);
  ASSERT_EQ(gate_timer(opened.timers.at(0).token, kT0 + 7'100).gate_outcome, GateOutcome::timeout);
  EXPECT_TRUE(is_empty(ready("bob", kT0 + 7'200)));
  EXPECT_TRUE(is_empty(gate_timer(opened.timers.at(0).token, kT0 + 7'300)));
}

TEST_F(GateTest, SeekThatKeepsPausedClosesWithoutEvent) {
  seek(42.0, false, kT0 + 100);
  ready("bob", kT0 + 200);
  const Effects fx = ready("carol", kT0 + 300);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::quorum);
  EXPECT_TRUE(fx.changed);
  EXPECT_TRUE(fx.deliveries.empty());
  EXPECT_FALSE(state_.gate.has_value());
  EXPECT_FALSE(state_.is_playing);
  EXPECT_DOUBLE_EQ(state_.current_time, 42.0);
}

TEST_F(GateTest, PlayPauseCancelsTheGate) {
  const Effects opened = seek(42.0, true, kT0 + 100);
  const Effects fx =
      send("alice", pr::PlayPause{pr::Control::pause, 43.0, std::nullopt}, kT0 + 200);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::cancelled);
  EXPECT_FALSE(state_.gate.has_value());
  EXPECT_FALSE(state_.is_playing);  // the explicit pause wins over the planned resume
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(event_at<pr::PlayPauseEvent>(fx, 0).user_id, "alice");
  EXPECT_TRUE(is_empty(gate_timer(opened.timers.at(0).token, kT0 + 7'100)));
  EXPECT_TRUE(is_empty(ready("bob", kT0 + 300)));
}

TEST_F(GateTest, UrlChangeCancelsTheGate) {
  seek(42.0, true, kT0 + 100);
  const Effects fx = send("alice", pr::UrlChange{"https://x.test/v", std::nullopt}, kT0 + 200);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::cancelled);
  EXPECT_FALSE(state_.gate.has_value());
}

TEST_F(GateTest, PlayPauseWithoutGateReportsNoOutcome) {
  const Effects fx = send("alice", pr::PlayPause{pr::Control::play, 1.0, std::nullopt}, kT0);
  EXPECT_FALSE(fx.gate_outcome.has_value());
}

TEST_F(GateTest, SweepClosesOnlyAnOverdueGate) {
  seek(42.0, true, kT0 + 100);
  EXPECT_TRUE(is_empty(machine().sweep(state_, kT0 + 7'099)));
  ASSERT_TRUE(state_.gate.has_value());
  const Effects fx = machine().sweep(state_, kT0 + 7'100);
  EXPECT_EQ(fx.gate_outcome, GateOutcome::timeout);
  EXPECT_EQ(event_at<pr::PlayPauseEvent>(fx, 0).event_timestamp, static_cast<double>(kT0 + 7'100));
  EXPECT_TRUE(is_empty(machine().sweep(state_, kT0 + 7'200)));
}

TEST_F(GateTest, GateIdsAreUniqueAgainstJoinSeqsAndEachOther) {
  const std::uint64_t a = seek(1.0, true, kT0 + 100).timers.at(0).token;
  const std::uint64_t b = seek(2.0, true, kT0 + 200).timers.at(0).token;
  EXPECT_NE(a, b);
  for (const Member& m : state_.members) {
    EXPECT_NE(m.join_seq, a);
    EXPECT_NE(m.join_seq, b);
  }
}

}  // namespace
}  // namespace tandem::room::test
