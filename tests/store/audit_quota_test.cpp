// The arithmetic of the audit log's quotas (pure).
#include "store/audit_quota.hpp"

#include <gtest/gtest.h>

namespace tandem::store {
namespace {

TEST(AuditQuota, ARowCountsItsTextAndAFixedOverhead) {
  EXPECT_EQ(audit_row_bytes("room", "URL_CHANGE", "alice", 2048), 4 + 10 + 5 + 2048 + 64);
  EXPECT_EQ(audit_row_bytes("r", "LEAVE", "", 2), 1 + 5 + 0 + 2 + 64);
}

TEST(AuditQuota, ZeroIsNoQuotaAndTrimmingStopsAtNinetyPercent) {
  EXPECT_FALSE(over_quota(1'000'000, 0));
  EXPECT_FALSE(over_quota(1000, 1000));
  EXPECT_TRUE(over_quota(1001, 1000));
  EXPECT_EQ(quota_target(1000), 900);
  EXPECT_EQ(quota_target(1 << 20), (1 << 20) - (1 << 20) / 10);
}

TEST(AuditQuota, TheOldestRowsThatFreeTheExcess) {
  const std::vector<SizedRow> rows = {{11, 100}, {12, 200}, {20, 300}, {31, 400}};
  EXPECT_EQ(cut_id(rows, 0), std::nullopt) << "nothing to free";
  EXPECT_EQ(cut_id(rows, 1), 11);
  EXPECT_EQ(cut_id(rows, 100), 11);
  EXPECT_EQ(cut_id(rows, 101), 12);
  EXPECT_EQ(cut_id(rows, 600), 20);
  EXPECT_EQ(cut_id(rows, 5000), 31) << "all of them when they do not suffice";
  EXPECT_EQ(cut_id({}, 10), std::nullopt);
}

TEST(AuditQuota, ATallyKeepsRoomsInIdOrder) {
  AuditTally tally;
  tally.add("b", 10);
  tally.add("a", 5);
  tally.add("b", 20);
  ASSERT_EQ(tally.by_room().size(), 2U);
  EXPECT_EQ(tally.by_room().begin()->first, "a");
  EXPECT_EQ(tally.by_room().at("b").bytes, 30);
  EXPECT_EQ(tally.by_room().at("b").rows, 2);
  EXPECT_EQ(tally.total().bytes, 35);
  EXPECT_EQ(tally.total().rows, 3);
}

}  // namespace
}  // namespace tandem::store
