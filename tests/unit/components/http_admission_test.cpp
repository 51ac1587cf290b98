// Which plain HTTP connections are kept when more arrive than the table holds
// (HttpAdmission): pure, no sockets.
#include "net/http_admission.hpp"

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

// "a" + std::to_string(n), built so that GCC 12's -Wrestrict does not misfire in Release.
std::string name(const char* prefix, std::uint64_t n) {
  std::string out(prefix);
  out += std::to_string(n);
  return out;
}

using Reason = HttpAdmission::Reason;

TEST(HttpAdmission, AdmitsUntilFullThenEvictsTheLongestWaiting) {
  HttpAdmission admission(3, 10);
  for (HttpAdmission::Id id = 1; id <= 3; ++id) {
    const auto admit = admission.open(id, name("a", id), false);
    EXPECT_TRUE(admit.admitted);
    EXPECT_FALSE(admit.evict);
  }
  const auto fourth = admission.open(4, "a4", false);
  ASSERT_TRUE(fourth.admitted);
  ASSERT_TRUE(fourth.evict);
  EXPECT_EQ(fourth.evict->id, 1u);
  EXPECT_EQ(fourth.evict->reason, Reason::max_connections);
  EXPECT_EQ(admission.size(), 3u);
  admission.close(1);  // the evicted session's own close later: ignored
  EXPECT_EQ(admission.size(), 3u);
}

TEST(HttpAdmission, BusyConnectionsAreNeverEvicted) {
  HttpAdmission admission(2, 10);
  admission.open(1, "a", false);
  admission.open(2, "b", false);
  admission.busy(1);
  admission.busy(2);
  const auto refused = admission.open(3, "c", false);
  EXPECT_FALSE(refused.admitted);
  EXPECT_FALSE(refused.evict);
  EXPECT_EQ(admission.size(), 2u);
  // One answers and waits for its peer to read: it may go now.
  admission.wait_write(2);
  const auto admitted = admission.open(3, "c", false);
  ASSERT_TRUE(admitted.admitted);
  EXPECT_EQ(admitted.evict->id, 2u);
}

TEST(HttpAdmission, OrderIsTheStartOfTheCurrentWaitNotOfTheConnection) {
  HttpAdmission admission(3, 10);
  admission.open(1, "a", false);
  admission.open(2, "b", false);
  admission.open(3, "c", false);
  // 1 was served and waits for its next request (keep-alive): now the newest wait.
  admission.busy(1);
  admission.wait_write(1);
  EXPECT_FALSE(admission.wait_request(1));
  EXPECT_EQ(admission.open(4, "d", false).evict->id, 2u);
  EXPECT_EQ(admission.open(5, "e", false).evict->id, 3u);
  EXPECT_EQ(admission.open(6, "f", false).evict->id, 1u);
}

TEST(HttpAdmission, OneAddressHoldsAtMostItsShareOfWaitingConnections) {
  HttpAdmission admission(100, 2);
  admission.open(1, "x", false);
  admission.open(2, "x", false);
  EXPECT_EQ(admission.waiting("x"), 2u);
  const auto third = admission.open(3, "x", false);
  ASSERT_TRUE(third.admitted);
  ASSERT_TRUE(third.evict);
  EXPECT_EQ(third.evict->id, 1u);
  EXPECT_EQ(third.evict->reason, Reason::per_address);
  EXPECT_EQ(admission.waiting("x"), 2u);
  // Other addresses are untouched.
  EXPECT_FALSE(admission.open(4, "y", false).evict);
  // Connections being served or writing do not count against the address.
  admission.busy(2);
  admission.wait_write(3);
  EXPECT_EQ(admission.waiting("x"), 0u);
  EXPECT_FALSE(admission.open(5, "x", false).evict);
  EXPECT_FALSE(admission.open(6, "x", false).evict);
  // A kept-alive connection waiting again counts again.
  const auto again = admission.wait_request(2);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, 5u);
}

TEST(HttpAdmission, WhenFullAnAddressAtItsCapLosesItsOwnOldest) {
  HttpAdmission admission(4, 2);
  admission.open(1, "a", false);
  admission.open(2, "x", false);
  admission.open(3, "x", false);
  admission.open(4, "b", false);
  const auto admit = admission.open(5, "x", false);
  ASSERT_TRUE(admit.evict);
  EXPECT_EQ(admit.evict->id, 2u);  // not 1, the oldest of all
  EXPECT_EQ(admit.evict->reason, Reason::per_address);
  EXPECT_EQ(admission.size(), 4u);
}

TEST(HttpAdmission, TrustedProxiesAreExemptFromTheAddressCap) {
  HttpAdmission admission(100, 2);
  for (HttpAdmission::Id id = 1; id <= 10; ++id) {
    EXPECT_FALSE(admission.open(id, "proxy", true).evict) << id;
  }
  EXPECT_EQ(admission.waiting("proxy"), 0u);
  EXPECT_EQ(admission.size(), 10u);
}

TEST(HttpAdmission, ClosedConnectionsFreeTheirPlace) {
  HttpAdmission admission(2, 1);
  admission.open(1, "x", false);
  admission.close(1);
  EXPECT_EQ(admission.size(), 0u);
  EXPECT_EQ(admission.waiting("x"), 0u);
  EXPECT_FALSE(admission.open(2, "x", false).evict);
  admission.busy(2);
  admission.close(2);   // closing from any state
  admission.close(99);  // unknown: ignored
  EXPECT_EQ(admission.size(), 0u);
}

// A table under a stream of connections stays within its bounds and keeps the newest.
TEST(HttpAdmission, ASustainedFloodKeepsTheNewest) {
  HttpAdmission admission(64, 8);
  for (HttpAdmission::Id id = 1; id <= 10'000; ++id) {
    const auto admit = admission.open(id, name("addr", id % 50), false);
    ASSERT_TRUE(admit.admitted);
    ASSERT_LE(admission.size(), 64u);
  }
  EXPECT_EQ(admission.size(), 64u);
  // The newest connection of any address is still there: evicting it now reports it.
  admission.close(10'000);
  EXPECT_EQ(admission.size(), 63u);
}

}  // namespace
}  // namespace tandem::net
