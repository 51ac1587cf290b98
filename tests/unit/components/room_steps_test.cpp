// The steps both runtimes take on a room (cluster/room_steps), on a real RoomMachine.
#include "cluster/room_steps.hpp"
#include "cluster/pbkdf2_pin_hasher.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

using protocol::Millis;
constexpr Millis kT0 = 1'700'000'000'000;

class RoomStepsTest : public ::testing::Test {
 protected:
  RoomStepsTest() : machine_(room::RoomConfig{10'000, 7'000, 0.6, {}}, hasher_) {
    state_.id = "r1";
    join("alice", "pa");
    join("bob", "pb");
  }
  room::Effects join(const std::string& user, const std::string& peer,
                     const PinVerdict& verdict = {}) {
    const protocol::Command command = protocol::Join{"r1", user, std::nullopt, std::nullopt};
    return join_step(machine_, state_, room::Actor{user, peer, "n1", "10.0.0.1"}, command,
                     verdict, kT0);
  }
  const room::Member* member(const std::string& user) const { return state_.find_member(user); }

  Pbkdf2PinHasher hasher_{1000};
  room::RoomMachine machine_;
  room::RoomState state_;
};

TEST_F(RoomStepsTest, OnlyPingIsAnsweredByTheNode) {
  const auto pong = node_answer(protocol::Command{protocol::Ping{}});
  ASSERT_TRUE(pong.has_value());
  EXPECT_TRUE(std::holds_alternative<protocol::PongEvent>(*pong));
  EXPECT_FALSE(node_answer(protocol::Command{protocol::Leave{}}).has_value());
  EXPECT_EQ(not_joined_error().code, protocol::ErrorCode::not_joined);
}

TEST_F(RoomStepsTest, ALockedOutJoinGetsPinLockedAndChangesNothing) {
  const std::uint64_t version = state_.version;
  const room::Effects fx = join("carol", "pc", PinVerdict{PinVerdict::Action::refuse, 5'000});
  EXPECT_FALSE(fx.changed);
  EXPECT_FALSE(fx.joined);
  ASSERT_EQ(fx.deliveries.size(), 1u);
  EXPECT_EQ(fx.deliveries[0].audience, room::Audience::sender);
  const auto* error = std::get_if<protocol::ErrorEvent>(&fx.deliveries[0].event);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, protocol::ErrorCode::pin_locked);
  EXPECT_EQ(member("carol"), nullptr);
  EXPECT_EQ(state_.version, version);
  // A delayed check does nothing now.
  const room::Effects later = join("carol", "pc", PinVerdict{PinVerdict::Action::delay, 20});
  EXPECT_TRUE(later.deliveries.empty());
  EXPECT_EQ(member("carol"), nullptr);
}

TEST_F(RoomStepsTest, ANetworkCloseKeepsTheMemberWithinGraceAStaleOneRemovesIt) {
  const room::Effects dropped = close_step(machine_, state_, "bob", "pb", CloseKind::network, kT0);
  ASSERT_NE(member("bob"), nullptr);
  EXPECT_FALSE(member("bob")->connected);
  EXPECT_EQ(dropped.timers.size(), 1u);
  // A stale close of a connection that is no longer the member's changes nothing.
  join("alice", "pa2");
  EXPECT_FALSE(close_step(machine_, state_, "alice", "pa", CloseKind::stale, kT0).changed);
  ASSERT_NE(member("alice"), nullptr);
  const room::Effects stale = close_step(machine_, state_, "alice", "pa2", CloseKind::stale, kT0);
  EXPECT_TRUE(stale.changed);
  EXPECT_EQ(member("alice"), nullptr);
}

TEST_F(RoomStepsTest, LeavingThePreviousRoomSparesANewerConnectionOfTheSameUser) {
  join("bob", "pb2");  // bob's newer connection replaced pb
  EXPECT_FALSE(leave_previous_step(machine_, state_, "bob", "pb", kT0).changed);
  ASSERT_NE(member("bob"), nullptr);
  EXPECT_TRUE(leave_previous_step(machine_, state_, "bob", "pb2", kT0).changed);
  EXPECT_EQ(member("bob"), nullptr);
}

TEST_F(RoomStepsTest, RestoredMembersAreDisconnectedExceptThoseBoundHere) {
  const room::Effects fx = restore_members_step(
      machine_, state_, [](std::string_view peer) { return peer == "pb"; }, kT0);
  EXPECT_FALSE(member("alice")->connected);
  EXPECT_TRUE(member("bob")->connected);
  ASSERT_EQ(fx.timers.size(), 1u);
  EXPECT_EQ(fx.timers[0].user_id, "alice");
}

TEST_F(RoomStepsTest, APinLockoutRecordNamesTheAddressAndScope) {
  const room::Record record = pin_lockout_record("bob", "10.0.0.9", PinScope::address_room);
  EXPECT_EQ(record.event_type, "PIN_LOCKOUT");
  EXPECT_EQ(record.user_id, "bob");
  EXPECT_EQ(record.data.at("address"), "10.0.0.9");
  EXPECT_EQ(record.data.at("scope").as_string(), to_string(PinScope::address_room));
}

TEST_F(RoomStepsTest, MergedEffectsKeepEveryStepsOutputInOrder) {
  room::Effects into = close_step(machine_, state_, "alice", "pa", CloseKind::network, kT0);
  merge(into, close_step(machine_, state_, "bob", "pb", CloseKind::network, kT0));
  ASSERT_EQ(into.timers.size(), 2u);
  EXPECT_EQ(into.timers[0].user_id, "alice");
  EXPECT_EQ(into.timers[1].user_id, "bob");
  EXPECT_TRUE(into.changed);
}

}  // namespace
}  // namespace tandem::cluster
