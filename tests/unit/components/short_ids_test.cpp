#include "cluster/short_ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tandem::cluster {
namespace {

TEST(ShortIds, SevenCharsOfLowercaseAlphanumerics) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = ShortIds::random_id();
    ASSERT_TRUE(ShortIds::is_well_formed(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);  // 36^7 ids: a repeat in 2000 draws would be a broken source
}

TEST(ShortIds, SameRoomSameIdWhileAlive) {
  ShortIds ids(1000, 100);
  const auto a = ids.issue("room-1", 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(ids.issue("room-1", 500), a);
  EXPECT_EQ(ids.resolve(*a, 1400), "room-1");  // TTL slid to 1500
  EXPECT_NE(ids.issue("room-2", 600), a);
}

TEST(ShortIds, ExpiredIdsResolveToNothingAndAreReplaced) {
  ShortIds ids(1000, 100);
  const auto a = ids.issue("room-1", 0);
  EXPECT_FALSE(ids.resolve(*a, 1000));
  const auto b = ids.issue("room-1", 2000);
  ASSERT_TRUE(b);
  EXPECT_EQ(ids.resolve(*b, 2500), "room-1");
  EXPECT_EQ(ids.size(), 1u);
}

TEST(ShortIds, TableIsBounded) {
  ShortIds ids(1000, 3);
  EXPECT_TRUE(ids.issue("a", 0));
  EXPECT_TRUE(ids.issue("b", 0));
  EXPECT_TRUE(ids.issue("c", 0));
  EXPECT_FALSE(ids.issue("d", 10));  // full of live entries
  EXPECT_TRUE(ids.issue("d", 1000));  // the others expired and were purged
  EXPECT_EQ(ids.size(), 1u);
}

TEST(ShortIds, WellFormedRejectsOtherShapes) {
  EXPECT_FALSE(ShortIds::is_well_formed("abc"));
  EXPECT_FALSE(ShortIds::is_well_formed("ABCDEFG"));
  EXPECT_FALSE(ShortIds::is_well_formed("abc-def"));
  EXPECT_TRUE(ShortIds::is_well_formed("a1b2c3d"));
}

}  // namespace
}  // namespace tandem::cluster
