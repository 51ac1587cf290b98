// JOIN (creation, PIN, resume), LEAVE / remove_member (host re-election, archive), and
// the defensive handling of commands from non-members.
#include "room_test_support.hpp"

namespace tandem::room::test {
namespace {

using JoinTest = RoomTest;
using LeaveTest = RoomTest;

TEST_F(JoinTest, FirstJoinCreatesRoomWithJoinerAsHost) {
  const Effects fx = join("alice", kT0, std::nullopt, "Alice");

  EXPECT_TRUE(fx.changed);
  EXPECT_TRUE(fx.joined);
  EXPECT_EQ(state_.host_user_id, "alice");
  EXPECT_EQ(state_.created_at, kT0);
  EXPECT_EQ(state_.updated_at, kT0);
  EXPECT_EQ(state_.version, 1U);
  EXPECT_TRUE(state_.pin_hash.empty());

  const Member& m = member("alice");
  EXPECT_EQ(m.join_seq, 1U);
  EXPECT_EQ(m.peer_id, peer_of("alice"));
  EXPECT_EQ(m.node_id, "node-a");
  EXPECT_TRUE(m.connected);
  EXPECT_EQ(m.joined_at, kT0);
  EXPECT_EQ(m.last_heartbeat, kT0);
  EXPECT_EQ(m.username, "Alice");

  ASSERT_EQ(fx.deliveries.size(), 1U);  // nobody else to tell
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  const auto& rs = event_at<pr::RoomStateEvent>(fx, 0);
  EXPECT_EQ(rs.room_id, "room-1");
  EXPECT_EQ(rs.host_user_id, "alice");
  ASSERT_EQ(rs.users.size(), 1U);
  EXPECT_EQ(rs.users[0].user_id, "alice");
  EXPECT_EQ(rs.users[0].username, "Alice");

  ASSERT_EQ(fx.records.size(), 2U);
  EXPECT_EQ(fx.records[0].event_type, "ROOM_CREATED");
  EXPECT_EQ(fx.records[0].data.at("pinProtected"), false);
  EXPECT_EQ(fx.records[1].event_type, "JOIN");
  EXPECT_EQ(fx.records[1].user_id, "alice");
  EXPECT_EQ(fx.records[1].data.at("username"), "Alice");
  EXPECT_EQ(fx.records[1].data.at("resumed"), false);
}

TEST_F(JoinTest, LaterJoinsAppendInOrderAndAnnounceToOthers) {
  join("alice", kT0);
  state_.url = "https://www.netflix.com/watch/1";
  state_.current_time = 100;
  state_.position_at = kT0;
  state_.is_playing = true;
  state_.guest_control_enabled = true;
  join("bob", kT0 + 1);

  const Effects fx = join("carol", kT0 + 4'000, std::nullopt, "Carol");
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(member("carol").join_seq, 3U);
  EXPECT_EQ(state_.host_user_id, "alice");

  ASSERT_EQ(fx.deliveries.size(), 2U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  const auto& rs = event_at<pr::RoomStateEvent>(fx, 0);
  EXPECT_EQ(rs.url, "https://www.netflix.com/watch/1");
  EXPECT_DOUBLE_EQ(rs.current_time, 104.0);  // extrapolated to the join time
  EXPECT_TRUE(rs.is_playing);
  EXPECT_TRUE(rs.guest_control_enabled);
  ASSERT_EQ(rs.users.size(), 3U);
  EXPECT_EQ(rs.users[0].user_id, "alice");
  EXPECT_EQ(rs.users[2].user_id, "carol");

  EXPECT_EQ(fx.deliveries[1].audience, Audience::all_except);
  EXPECT_EQ(fx.deliveries[1].user_id, "carol");
  const auto& uj = event_at<pr::UserJoinedEvent>(fx, 1);
  EXPECT_EQ(uj.user_id, "carol");
  EXPECT_EQ(uj.peer_id, peer_of("carol"));
  EXPECT_EQ(uj.username, "Carol");
  EXPECT_EQ(find_record(fx, "ROOM_CREATED"), nullptr);
}

TEST_F(JoinTest, JoinIntoEmptiedRoomStartsAFreshRoom) {
  join("alice", kT0, "1234");
  state_.url = "https://www.netflix.com/watch/1";
  state_.guest_control_enabled = true;
  machine().apply(state_, Actor{"alice", peer_of("alice"), "n"}, pr::Leave{}, kT0 + 1);
  const std::uint64_t version = state_.version;
  const std::uint64_t next_seq = state_.next_seq;

  const Effects fx = join("bob", kT0 + 10);  // no pin: the old room's pin is gone with it
  EXPECT_TRUE(fx.joined);
  EXPECT_NE(find_record(fx, "ROOM_CREATED"), nullptr);
  EXPECT_EQ(state_.id, "room-1");
  EXPECT_EQ(state_.host_user_id, "bob");
  EXPECT_TRUE(state_.url.empty());
  EXPECT_TRUE(state_.pin_hash.empty());
  EXPECT_FALSE(state_.guest_control_enabled);
  EXPECT_EQ(state_.created_at, kT0 + 10);
  EXPECT_EQ(state_.version, version + 1);       // versions only grow
  EXPECT_EQ(member("bob").join_seq, next_seq);  // sequence numbers never repeat
}

TEST_F(JoinTest, EmptyStateTakesRoomIdFromJoin) {
  state_.id.clear();
  pr::Join cmd{"from-join", "alice", std::nullopt, std::nullopt};
  const Effects fx = machine().apply(state_, Actor{"alice", "p1", "n"}, cmd, kT0);
  EXPECT_EQ(state_.id, "from-join");
  EXPECT_EQ(event_at<pr::RoomStateEvent>(fx, 0).room_id, "from-join");
}

// ---- PIN ------------------------------------------------------------------------

TEST_F(JoinTest, PinOnCreationIsStoredHashed) {
  const Effects fx = join("alice", kT0, "1234");
  EXPECT_EQ(state_.pin_hash, "fake$1234");
  EXPECT_EQ(hasher_.hash_calls, 1);
  EXPECT_EQ(fx.records[0].data.at("pinProtected"), true);
}

TEST_F(JoinTest, PinRoomRejectsMissingPin) {
  join("alice", kT0, "1234");
  const RoomState before = state_;

  const Effects fx = join("bob", kT0 + 1);
  EXPECT_FALSE(fx.changed);
  EXPECT_FALSE(fx.joined);
  EXPECT_EQ(state_, before);
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::sender);
  const auto& err = event_at<pr::ErrorEvent>(fx, 0);
  EXPECT_EQ(err.code, pr::ErrorCode::pin_required);
  EXPECT_EQ(err.message, "Invalid or missing PIN");
  ASSERT_EQ(fx.records.size(), 1U);
  EXPECT_EQ(fx.records[0].event_type, "PIN_FAILED");
  EXPECT_EQ(fx.records[0].user_id, "bob");
}

TEST_F(JoinTest, PinRoomRejectsWrongPin) {
  join("alice", kT0, "1234");
  const RoomState before = state_;
  const Effects fx = join("bob", kT0 + 1, "9999");
  EXPECT_EQ(state_, before);
  EXPECT_EQ(must_event<pr::ErrorEvent>(fx).code, pr::ErrorCode::pin_required);
  EXPECT_NE(find_record(fx, "PIN_FAILED"), nullptr);
}

TEST_F(JoinTest, PinRoomAcceptsRightPin) {
  join("alice", kT0, "1234");
  const Effects fx = join("bob", kT0 + 1, "1234");
  EXPECT_TRUE(fx.joined);
  EXPECT_EQ(first_event<pr::ErrorEvent>(fx), nullptr);
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"alice", "bob"}));
}

TEST_F(JoinTest, ResumingMemberStillNeedsThePin) {
  join("alice", kT0, "1234");
  join("bob", kT0 + 1, "1234");
  ASSERT_TRUE(drop("bob", kT0 + 2).changed);
  const RoomState before = state_;

  // Knowing bob's userId (it is public in /status) must not be enough.
  const Effects fx = join("bob", kT0 + 3, std::nullopt, std::nullopt, "peer-bob-2");
  EXPECT_EQ(state_, before);
  EXPECT_FALSE(member("bob").connected);
  EXPECT_EQ(must_event<pr::ErrorEvent>(fx).code, pr::ErrorCode::pin_required);

  EXPECT_TRUE(join("bob", kT0 + 4, "1234", std::nullopt, "peer-bob-2").joined);
  EXPECT_TRUE(member("bob").connected);
}

// The lockout (cluster/pin_lockout.hpp) tells a member coming back from a guesser by the
// address the member last joined from; a wrong PIN is audited with the guesser's address.
TEST_F(JoinTest, PinRoomsKeepTheAddressEachMemberLastJoinedFrom) {
  const auto join_from = [&](const std::string& user, const std::string& address,
                             std::optional<std::string> pin, const std::string& peer, Millis now) {
    return machine().apply(state_, Actor{user, peer, "node-a", address},
                           pr::Join{state_.id, user, std::nullopt, std::move(pin)}, now);
  };
  ASSERT_TRUE(join_from("alice", "198.51.100.1", "1234", "peer-a", kT0).joined);
  ASSERT_TRUE(join_from("bob", "198.51.100.2", "1234", "peer-b", kT0 + 1).joined);
  EXPECT_EQ(member("alice").address, "198.51.100.1");
  EXPECT_EQ(member("bob").address, "198.51.100.2");

  const Effects wrong = join_from("mallory", "203.0.113.9", "0000", "peer-m", kT0 + 2);
  const Record& failed = must_record(wrong, "PIN_FAILED");
  EXPECT_EQ(failed.data.at("address"), "203.0.113.9");
  EXPECT_EQ(failed.data.at("pinProvided"), true);

  // A resume from elsewhere (another network) moves the member's address with it.
  drop("bob", kT0 + 3);
  ASSERT_TRUE(join_from("bob", "192.0.2.44", "1234", "peer-b2", kT0 + 4).joined);
  EXPECT_EQ(member("bob").address, "192.0.2.44");
}

TEST_F(JoinTest, OpenRoomsKeepNoAddress) {
  const Effects fx = machine().apply(state_, Actor{"alice", "peer-a", "node-a", "198.51.100.1"},
                                     pr::Join{state_.id, "alice", std::nullopt, std::nullopt}, kT0);
  ASSERT_TRUE(fx.joined);
  EXPECT_EQ(member("alice").address, "");
}

TEST_F(JoinTest, RoomWithoutPinIgnoresAPin) {
  join("alice", kT0);
  const Effects fx = join("bob", kT0 + 1, "5555");
  EXPECT_TRUE(fx.joined);
  EXPECT_TRUE(state_.pin_hash.empty());
  EXPECT_EQ(hasher_.hash_calls, 0);
}

// ---- resume / re-join -----------------------------------------------------------

TEST_F(JoinTest, RejoinOnNewConnectionKeepsPlaceAndClosesTheOldOne) {
  join_all({"alice", "bob", "carol"});
  state_.find_member("bob")->current_time = 33;

  const Effects fx = join("bob", kT0 + 100, std::nullopt, std::nullopt, "peer-bob-2", "node-b");
  EXPECT_TRUE(fx.joined);
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"alice", "bob", "carol"}));
  const Member& bob = member("bob");
  EXPECT_EQ(bob.join_seq, 2U);
  EXPECT_EQ(bob.peer_id, "peer-bob-2");
  EXPECT_EQ(bob.node_id, "node-b");
  EXPECT_EQ(bob.current_time, 33);
  EXPECT_EQ(bob.joined_at, kT0 + 1);
  EXPECT_EQ(bob.last_heartbeat, kT0 + 100);

  ASSERT_EQ(fx.closes.size(), 1U);
  EXPECT_EQ(fx.closes[0].peer_id, peer_of("bob"));
  EXPECT_EQ(fx.closes[0].code, 1000);
  EXPECT_EQ(fx.closes[0].reason, "replaced by a newer connection");

  EXPECT_EQ(count_events<pr::UserLeftEvent>(fx), 0U);
  const auto joined = deliveries_of<pr::UserJoinedEvent>(fx);
  ASSERT_EQ(joined.size(), 1U);
  EXPECT_EQ(joined[0]->audience, Audience::all_except);
  EXPECT_EQ(joined[0]->user_id, "bob");
  EXPECT_EQ(std::get<pr::UserJoinedEvent>(joined[0]->event).peer_id, "peer-bob-2");
  EXPECT_EQ(must_event<pr::RoomStateEvent>(fx).users.size(), 3U);  // listed once
  EXPECT_EQ(must_record(fx, "JOIN").data.at("resumed"), true);
}

TEST_F(JoinTest, HostRejoiningStaysHost) {
  join_all({"alice", "bob"});
  join("alice", kT0 + 10, std::nullopt, std::nullopt, "peer-alice-2");
  EXPECT_EQ(state_.host_user_id, "alice");
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"alice", "bob"}));
}

TEST_F(JoinTest, RejoinOnSameConnectionClosesNothing) {
  join_all({"alice", "bob"});
  const Effects fx = join("bob", kT0 + 10);  // page reload on the same socket
  EXPECT_TRUE(fx.joined);
  EXPECT_TRUE(fx.closes.empty());
  EXPECT_EQ(count_events<pr::RoomStateEvent>(fx), 1U);
  EXPECT_EQ(count_events<pr::UserJoinedEvent>(fx), 1U);
  EXPECT_EQ(count_events<pr::UserLeftEvent>(fx), 0U);
  EXPECT_EQ(state_.members.size(), 2U);
}

TEST_F(JoinTest, RejoinUpdatesUsernameOnlyWhenGiven) {
  join("alice", kT0, std::nullopt, "Alice");
  join("alice", kT0 + 1);
  EXPECT_EQ(member("alice").username, "Alice");
  const Effects fx = join("alice", kT0 + 2, std::nullopt, "Ally");
  EXPECT_EQ(member("alice").username, "Ally");
  EXPECT_EQ(must_record(fx, "JOIN").data.at("username"), "Ally");
}

TEST_F(JoinTest, JoinWithoutUsernameRecordsNull) {
  const Effects fx = join("alice");
  EXPECT_TRUE(must_record(fx, "JOIN").data.at("username").is_null());
}

// ---- LEAVE / remove_member ------------------------------------------------------

TEST_F(LeaveTest, GuestLeaveTellsTheRest) {
  join_all({"alice", "bob", "carol"});
  const Effects fx = send("bob", pr::Leave{}, kT0 + 10);

  EXPECT_TRUE(fx.left);
  EXPECT_TRUE(fx.changed);
  EXPECT_FALSE(fx.archived);
  EXPECT_EQ(member_ids(), (std::vector<std::string>{"alice", "carol"}));
  EXPECT_EQ(state_.host_user_id, "alice");
  ASSERT_EQ(fx.deliveries.size(), 1U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  const auto& left = event_at<pr::UserLeftEvent>(fx, 0);
  EXPECT_EQ(left.user_id, "bob");
  EXPECT_EQ(left.peer_id, peer_of("bob"));
  ASSERT_EQ(fx.records.size(), 1U);
  EXPECT_EQ(fx.records[0].event_type, "LEAVE");
  EXPECT_EQ(fx.records[0].data.at("reason"), "left");
}

TEST_F(LeaveTest, HostLeaveElectsEarliestJoinerBeforeUserLeft) {
  join_all({"alice", "bob", "carol"});
  const Effects fx = send("alice", pr::Leave{}, kT0 + 10);

  EXPECT_EQ(state_.host_user_id, "bob");
  ASSERT_EQ(fx.deliveries.size(), 2U);
  EXPECT_EQ(fx.deliveries[0].audience, Audience::all);
  EXPECT_EQ(event_at<pr::HostChangedEvent>(fx, 0).host_user_id, "bob");
  EXPECT_EQ(event_at<pr::UserLeftEvent>(fx, 1).user_id, "alice");
  const Record* r = find_record(fx, "HOST_CHANGED");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->data.at("from"), "alice");
  EXPECT_EQ(r->data.at("to"), "bob");
  EXPECT_EQ(r->data.at("reason"), "left");
}

TEST_F(LeaveTest, ReelectionPrefersConnectedMembers) {
  join_all({"alice", "bob", "carol"});
  drop("bob", kT0 + 5);  // inside its grace period
  send("alice", pr::Leave{}, kT0 + 10);
  EXPECT_EQ(state_.host_user_id, "carol");
}

TEST_F(LeaveTest, ReelectionFallsBackToEarliestWhenNobodyIsConnected) {
  join_all({"alice", "bob", "carol"});
  drop("carol", kT0 + 4);
  drop("bob", kT0 + 5);
  send("alice", pr::Leave{}, kT0 + 10);
  EXPECT_EQ(state_.host_user_id, "bob");
}

TEST_F(LeaveTest, ReelectionUsesJoinSeqNotVectorPosition) {
  join_all({"alice", "bob", "carol"});
  std::swap(state_.members[1], state_.members[2]);  // a snapshot in any order
  send("alice", pr::Leave{}, kT0 + 10);
  EXPECT_EQ(state_.host_user_id, "bob");
}

TEST_F(LeaveTest, LastLeaveArchivesAndKeepsTheRest) {
  join("alice", kT0);
  state_.url = "https://www.netflix.com/watch/7";
  const Effects fx = send("alice", pr::Leave{}, kT0 + 10);
  EXPECT_TRUE(fx.archived);
  EXPECT_TRUE(fx.left);
  EXPECT_TRUE(fx.changed);
  EXPECT_TRUE(state_.members.empty());
  EXPECT_TRUE(fx.deliveries.empty());  // nobody left to tell
  EXPECT_EQ(state_.url, "https://www.netflix.com/watch/7");
  EXPECT_EQ(state_.host_user_id, "alice");
  EXPECT_NE(find_record(fx, "LEAVE"), nullptr);
}

TEST_F(LeaveTest, OpenGateStaysOpenWhenAMemberLeaves) {
  join_all({"alice", "bob", "carol"});
  send("alice", pr::Seek{50, true, std::nullopt}, kT0 + 10);
  const Gate gate = *state_.gate;
  send("carol", pr::Leave{}, kT0 + 11);
  ASSERT_TRUE(state_.gate.has_value());
  EXPECT_EQ(*state_.gate, gate);
}

TEST_F(LeaveTest, RemoveMemberWithReason) {
  join_all({"alice", "bob"});
  const Effects fx = machine().remove_member(state_, "bob", LeaveReason::stale, kT0 + 10);
  EXPECT_TRUE(fx.left);
  EXPECT_EQ(must_record(fx, "LEAVE").data.at("reason"), "stale");
  EXPECT_EQ(event_at<pr::UserLeftEvent>(fx, 0).user_id, "bob");

  const Effects fx2 = machine().remove_member(state_, "alice", LeaveReason::node_dead, kT0 + 11);
  EXPECT_TRUE(fx2.archived);
  EXPECT_EQ(must_record(fx2, "LEAVE").data.at("reason"), "node_dead");
}

TEST_F(LeaveTest, RemovingAnUnknownMemberDoesNothing) {
  join_all({"alice"});
  const RoomState before = state_;
  const Effects fx = machine().remove_member(state_, "ghost", LeaveReason::left, kT0 + 1);
  EXPECT_TRUE(is_empty(fx));
  EXPECT_EQ(state_, before);
}

// ---- commands from outside ------------------------------------------------------

TEST_F(JoinTest, CommandsFromNonMembersDoNothing) {
  join_all({"alice", "bob"});
  const RoomState before = state_;
  const std::vector<pr::Command> commands = {
      pr::Leave{},
      pr::Ping{},
      pr::UpdateUsername{"X"},
      pr::ToggleGuestControl{true},
      pr::TransferHost{"bob"},
      pr::PlayPause{pr::Control::play, 1.0, std::nullopt},
      pr::Seek{1.0, true, std::nullopt},
      pr::Ready{},
      pr::HostHeartbeat{1.0, true, std::nullopt},
      pr::PositionUpdate{1.0, true},
      pr::UrlChange{"https://x.test/", std::nullopt},
      pr::RequestSync{},
      pr::Relay{pr::RelayKind::offer, "bob", {}},
      pr::Fallback{"PLAYBACK_ACK", {}},
  };
  for (const pr::Command& cmd : commands) {
    const Effects fx = send_as("mallory", peer_of("mallory"), cmd, kT0 + 5);
    EXPECT_TRUE(is_empty(fx)) << cmd.index();
  }
  EXPECT_EQ(state_, before);
}

TEST_F(JoinTest, ReplacedConnectionCannotSpeakForTheMember) {
  join_all({"alice", "bob"});
  join("bob", kT0 + 10, std::nullopt, std::nullopt, "peer-bob-2");
  const RoomState before = state_;
  // The old connection's LEAVE (its close is still on the way) must not remove the
  // member that now lives on the new connection.
  EXPECT_TRUE(is_empty(send_as("bob", peer_of("bob"), pr::Leave{}, kT0 + 11)));
  EXPECT_TRUE(is_empty(send_as("bob", peer_of("bob"), pr::Ping{}, kT0 + 11)));
  EXPECT_EQ(state_, before);
}

}  // namespace
}  // namespace tandem::room::test
