// The PIN guessing rules (cluster/pin_lockout.hpp): given the counters and who is asking,
// what to do, and what a wrong PIN counts against.
#include "cluster/pin_lockout.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

using Action = PinVerdict::Action;

PinLockoutOptions options() {
  PinLockoutOptions o;
  o.max_failures_per_address_room = 5;
  o.max_failures_per_address = 20;
  o.max_failures_per_room = 20;
  o.max_failures_per_member_claim = 3;
  o.lockout = 300'000;
  o.room_delay = 1'000;
  return o;
}

PinAttempt attempt(PinStanding standing, bool pin = true) {
  PinAttempt a;
  a.standing = standing;
  a.pin_provided = pin;
  return a;
}

PinCounters under_attack() {
  PinCounters c;
  c.room_failures = 20;
  return c;
}

// Every lock and the room's failures at once: what a room under a distributed attack looks
// like to an address that has guessed too.
PinCounters everything_locked() {
  PinCounters c = under_attack();
  c.address_room_locked_for = 250'000;
  c.address_locked_for = 120'000;
  return c;
}

TEST(PinLockout, AStrangersCorrectPinIsCheckedWhenNothingIsLocked) {
  const PinLockout lockout(options());
  const PinVerdict v = lockout.decide(attempt(PinStanding::stranger), PinCounters{});
  EXPECT_EQ(v.action, Action::check);
}

TEST(PinLockout, ALockedGuesserIsRefusedUntilTheLongerLockEnds) {
  const PinLockout lockout(options());
  PinCounters c;
  c.address_room_locked_for = 30'000;
  PinVerdict v = lockout.decide(attempt(PinStanding::stranger), c);
  EXPECT_EQ(v.action, Action::refuse);
  EXPECT_EQ(v.wait, 30'000);
  c.address_locked_for = 90'000;
  v = lockout.decide(attempt(PinStanding::stranger), c);
  EXPECT_EQ(v.action, Action::refuse);
  EXPECT_EQ(v.wait, 90'000);
}

TEST(PinLockout, MembersAreNeverLockedOutOrDelayed) {
  const PinLockout lockout(options());
  for (const PinStanding member : {PinStanding::live_member, PinStanding::returning_member}) {
    const PinVerdict v = lockout.decide(attempt(member), everything_locked());
    EXPECT_EQ(v.action, Action::check) << static_cast<int>(member);
  }
}

TEST(PinLockout, ARoomUnderAttackDelaysAStrangersCheckOnce) {
  const PinLockout lockout(options());
  EXPECT_FALSE(lockout.under_attack(PinCounters{.room_failures = 19}));
  EXPECT_TRUE(lockout.under_attack(under_attack()));
  PinAttempt a = attempt(PinStanding::stranger);
  PinVerdict v = lockout.decide(a, under_attack());
  EXPECT_EQ(v.action, Action::delay);
  EXPECT_EQ(v.wait, 1'000);
  // Back from its delay, the check is made: a right PIN gets in.
  a.delay_served = true;
  EXPECT_EQ(lockout.decide(a, under_attack()).action, Action::check);
}

TEST(PinLockout, OneDelayedCheckPerAddress) {
  const PinLockout lockout(options());
  PinAttempt a = attempt(PinStanding::stranger);
  a.delay_in_flight = true;
  const PinVerdict v = lockout.decide(a, under_attack());
  EXPECT_EQ(v.action, Action::refuse);
  EXPECT_EQ(v.wait, 1'000);
}

TEST(PinLockout, NoDelayWhenItIsConfiguredOff) {
  PinLockoutOptions o = options();
  o.room_delay = 0;
  const PinLockout lockout(o);
  EXPECT_EQ(lockout.decide(attempt(PinStanding::stranger), under_attack()).action, Action::check);
}

TEST(PinLockout, AMissingPinIsNeitherDelayedNorRefusedNorCounted) {
  const PinLockout lockout(options());
  const PinAttempt a = attempt(PinStanding::stranger, false);
  EXPECT_EQ(lockout.decide(a, everything_locked()).action, Action::check);  // PIN_REQUIRED
  EXPECT_TRUE(lockout.on_failure(a, everything_locked()).empty());
}

TEST(PinLockout, AStrangersWrongPinCountsAgainstItsAddressAndTheRoom) {
  const PinLockout lockout(options());
  const auto counts = lockout.on_failure(attempt(PinStanding::stranger), PinCounters{});
  ASSERT_EQ(counts.size(), 3U);
  EXPECT_EQ(counts[0].scope, PinScope::address_room);
  EXPECT_EQ(counts[0].limit, 5U);
  EXPECT_FALSE(counts[0].sliding);
  EXPECT_EQ(counts[1].scope, PinScope::address);
  EXPECT_EQ(counts[1].limit, 20U);
  EXPECT_EQ(counts[2].scope, PinScope::room);
  EXPECT_EQ(counts[2].limit, 0U);  // the room is never locked
  EXPECT_TRUE(counts[2].sliding);
}

TEST(PinLockout, UnderAttackOneWrongPinLocksTheAddressOutOfTheRoom) {
  const PinLockout lockout(options());
  const auto counts = lockout.on_failure(attempt(PinStanding::stranger), under_attack());
  ASSERT_FALSE(counts.empty());
  EXPECT_EQ(counts[0].scope, PinScope::address_room);
  EXPECT_EQ(counts[0].limit, 1U);
}

TEST(PinLockout, AMemberClaimHasABudgetThenCountsAsAStranger) {
  const PinLockout lockout(options());
  const PinAttempt claim = attempt(PinStanding::returning_member);
  auto counts = lockout.on_failure(claim, PinCounters{});
  ASSERT_EQ(counts.size(), 4U);
  EXPECT_EQ(counts[0].scope, PinScope::member_claim);
  EXPECT_EQ(counts[0].limit, 3U);
  EXPECT_EQ(counts[1].scope, PinScope::address_room);  // and the address's counts too

  // Its budget spent, the claim is a stranger's: locked like any guesser.
  PinCounters spent = everything_locked();
  spent.member_claim_locked_for = 60'000;
  const PinVerdict v = lockout.decide(claim, spent);
  EXPECT_EQ(v.action, Action::refuse);
  counts = lockout.on_failure(claim, spent);
  ASSERT_EQ(counts.size(), 3U);
  EXPECT_EQ(counts[0].scope, PinScope::address_room);
}

TEST(PinLockout, ALiveMembersWrongPinCountsNothing) {
  const PinLockout lockout(options());
  EXPECT_TRUE(lockout.on_failure(attempt(PinStanding::live_member), under_attack()).empty());
}

TEST(PinLockout, StandingComesFromTheRoom) {
  room::RoomState state;
  state.id = "r";
  room::Member bob;
  bob.user_id = "bob";
  bob.peer_id = "peer-bob";
  bob.address = "198.51.100.7";
  state.members.push_back(bob);

  EXPECT_EQ(PinLockout::standing(state, "bob", "peer-bob", "203.0.113.1"), PinStanding::live_member);
  EXPECT_EQ(PinLockout::standing(state, "bob", "peer-new", "198.51.100.7"),
            PinStanding::returning_member);
  EXPECT_EQ(PinLockout::standing(state, "bob", "peer-new", "203.0.113.1"), PinStanding::stranger);
  EXPECT_EQ(PinLockout::standing(state, "carol", "peer-c", "198.51.100.7"), PinStanding::stranger);
  // Inside its grace period the member's old connection is no longer live.
  state.members[0].connected = false;
  EXPECT_EQ(PinLockout::standing(state, "bob", "peer-bob", "198.51.100.7"),
            PinStanding::returning_member);
  // A member that never had an address (an older snapshot) is nobody's to claim.
  state.members[0].address.clear();
  EXPECT_EQ(PinLockout::standing(state, "bob", "peer-new", ""), PinStanding::stranger);
}

TEST(PinLockout, AddressKeys) {
  EXPECT_EQ(pin_address_key("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(pin_address_key("::ffff:203.0.113.9"), "203.0.113.9");
  // One /64, however the host picks its interface id.
  EXPECT_EQ(pin_address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(pin_address_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_NE(pin_address_key("2001:db8:1:3::1"), pin_address_key("2001:db8:1:2::1"));
  EXPECT_EQ(pin_address_key("not an address"), "not an address");
  EXPECT_EQ(pin_address_key(""), "");
}

TEST(PinLockout, LockedErrorSaysWhenToComeBack) {
  const protocol::ErrorEvent e = pin_locked_error(1'001);
  EXPECT_EQ(e.code, protocol::ErrorCode::pin_locked);
  EXPECT_EQ(e.message, "Too many wrong PINs: try again in 2 s");
}

}  // namespace
}  // namespace tandem::cluster
