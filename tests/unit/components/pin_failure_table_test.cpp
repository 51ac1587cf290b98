// Standalone mode's PIN counters and locks (cluster/pin_failure_table.hpp): the semantics
// cluster mode's Lua script has (redis_pin_counters.cpp, kPinFailScript).
#include "cluster/pin_failure_table.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

constexpr protocol::Millis kWindow = 1'000;
constexpr protocol::Millis kLockout = 10'000;

TEST(PinFailureTable, ReachingTheLimitLocksAndRestartsTheCount) {
  PinFailureTable table(kWindow, kLockout, 100);
  EXPECT_FALSE(table.fail("k", 3, false, 0));
  EXPECT_FALSE(table.fail("k", 3, false, 10));
  EXPECT_EQ(table.failures("k", 20), 2U);
  EXPECT_EQ(table.locked_for("k", 20), 0);
  EXPECT_TRUE(table.fail("k", 3, false, 20));
  EXPECT_EQ(table.locked_for("k", 20), kLockout);
  EXPECT_EQ(table.locked_for("k", 5'020), 5'000);
  EXPECT_EQ(table.failures("k", 20), 0U);
  EXPECT_EQ(table.locked_for("k", 10'020), 0);  // expired
  EXPECT_EQ(table.locked_for("other", 20), 0);
}

TEST(PinFailureTable, FailuresOutsideTheWindowDoNotAddUp) {
  PinFailureTable table(kWindow, kLockout, 100);
  EXPECT_FALSE(table.fail("k", 3, false, 0));
  EXPECT_FALSE(table.fail("k", 3, false, 500));
  EXPECT_FALSE(table.fail("k", 3, false, 1'000));  // the window of the first one ended
  EXPECT_FALSE(table.fail("k", 3, false, 1'500));
  EXPECT_EQ(table.failures("k", 1'600), 2U);
  EXPECT_EQ(table.locked_for("k", 1'600), 0);
}

TEST(PinFailureTable, ASlidingCountLastsWhileFailuresKeepComing) {
  PinFailureTable table(kWindow, kLockout, 100);
  for (protocol::Millis t = 0; t <= 5'000; t += 900) EXPECT_FALSE(table.fail("room", 0, true, t));
  EXPECT_EQ(table.failures("room", 5'000), 6U);
  EXPECT_EQ(table.failures("room", 4'500 + kWindow + 1), 0U);  // a quiet window ends it
}

TEST(PinFailureTable, LimitZeroNeverLocks) {
  PinFailureTable table(kWindow, kLockout, 100);
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(table.fail("room", 0, true, i));
  EXPECT_EQ(table.locked_for("room", 50), 0);
}

TEST(PinFailureTable, StaysBounded) {
  PinFailureTable table(kWindow, kLockout, 100);
  for (int i = 0; i < 1000; ++i) table.fail(std::to_string(i), 5, false, 0);  // (a prefix trips GCC 12 -Wrestrict at -O3)
  EXPECT_LE(table.size(), 100U);
  // Once the entries are idle they are pruned to make room.
  EXPECT_FALSE(table.fail("late", 5, false, 5'000));
  EXPECT_EQ(table.size(), 1U);
  EXPECT_EQ(table.failures("late", 5'000), 1U);
}

}  // namespace
}  // namespace tandem::cluster
