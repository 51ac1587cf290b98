#include "cluster/pin_lockout.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

PinLockoutOptions options() {
  PinLockoutOptions o;
  o.max_failures_per_address = 3;
  o.max_failures_per_room = 5;
  o.window = 1000;
  o.lockout = 10'000;
  o.max_entries = 100;
  return o;
}

TEST(PinLockout, AddressLockedAfterTooManyFailures) {
  PinLockout lockout(options());
  EXPECT_FALSE(lockout.failed("1.2.3.4", "room", 0));
  EXPECT_FALSE(lockout.failed("1.2.3.4", "room", 10));
  EXPECT_EQ(lockout.locked_for("1.2.3.4", "room", 20), 0);
  EXPECT_TRUE(lockout.failed("1.2.3.4", "room", 20));
  EXPECT_EQ(lockout.locked_for("1.2.3.4", "other-room", 20), 10'000);
  EXPECT_EQ(lockout.locked_for("5.6.7.8", "other-room", 20), 0);
  EXPECT_EQ(lockout.locked_for("1.2.3.4", "other-room", 10'020), 0);  // lock expired
}

TEST(PinLockout, FailuresOutsideTheWindowDoNotAddUp) {
  PinLockout lockout(options());
  EXPECT_FALSE(lockout.failed("a", "r", 0));
  EXPECT_FALSE(lockout.failed("a", "r", 500));
  EXPECT_FALSE(lockout.failed("a", "r", 1500));  // new window
  EXPECT_FALSE(lockout.failed("a", "r", 1600));
  EXPECT_EQ(lockout.locked_for("a", "r", 1700), 0);
}

TEST(PinLockout, RoomLockedByManyAddresses) {
  PinLockout lockout(options());
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(lockout.failed("ip" + std::to_string(i), "r", i));
  EXPECT_TRUE(lockout.failed("ip9", "r", 5));
  EXPECT_EQ(lockout.locked_for("fresh-ip", "r", 6), 10'000 - 1);
  EXPECT_EQ(lockout.locked_for("fresh-ip", "other", 6), 0);
}

TEST(PinLockout, TablesStayBounded) {
  PinLockout lockout(options());
  for (int i = 0; i < 1000; ++i) lockout.failed("ip" + std::to_string(i), "r" + std::to_string(i), 0);
  EXPECT_LE(lockout.size(), 200u);
  // Once the entries are idle they are pruned to make room.
  lockout.failed("late", "late-room", 5000);
  EXPECT_LE(lockout.size(), 2u);
}

}  // namespace
}  // namespace tandem::cluster
