#include "room/room_state.hpp"
#include "room/room_machine.hpp"

#include <gtest/gtest.h>

namespace tandem::room {
namespace {

Member make_member(std::string id, bool connected) {
  Member m;
  m.user_id = std::move(id);
  m.connected = connected;
  return m;
}

TEST(RoomState, FindMemberConstAndMutable) {
  RoomState s;
  s.members = {make_member("a", true), make_member("b", false)};
  const RoomState& cs = s;
  ASSERT_NE(cs.find_member("b"), nullptr);
  EXPECT_EQ(cs.find_member("b")->user_id, "b");
  EXPECT_EQ(cs.find_member("zz"), nullptr);
  s.find_member("a")->username = "Ann";
  EXPECT_EQ(s.members[0].username, "Ann");
}

TEST(RoomState, ConnectedCountCountsOnlyConnected) {
  RoomState s;
  EXPECT_EQ(s.connected_count(), 0U);
  s.members = {make_member("a", true), make_member("b", false), make_member("c", true)};
  EXPECT_EQ(s.connected_count(), 2U);
}

TEST(RoomState, PositionFrozenWhilePaused) {
  RoomState s;
  s.current_time = 42.5;
  s.position_at = 1'000;
  s.is_playing = false;
  EXPECT_DOUBLE_EQ(s.position(61'000), 42.5);
}

TEST(RoomState, PositionExtrapolatedWhilePlaying) {
  RoomState s;
  s.current_time = 10;
  s.position_at = 1'000;
  s.is_playing = true;
  EXPECT_DOUBLE_EQ(s.position(1'000), 10.0);
  EXPECT_DOUBLE_EQ(s.position(3'500), 12.5);
}

TEST(RoomState, PositionNeverRewindsOnClockSkew) {
  RoomState s;
  s.current_time = 10;
  s.position_at = 5'000;
  s.is_playing = true;
  EXPECT_DOUBLE_EQ(s.position(4'000), 10.0);
}

TEST(RoomState, LeaveReasonNames) {
  EXPECT_EQ(to_string(LeaveReason::left), "left");
  EXPECT_EQ(to_string(LeaveReason::grace_expired), "grace_expired");
  EXPECT_EQ(to_string(LeaveReason::stale), "stale");
  EXPECT_EQ(to_string(LeaveReason::node_dead), "node_dead");
}

}  // namespace
}  // namespace tandem::room
