// The short-id table's policy (pure): sliding TTLs, pending ids of rooms that do not exist
// yet, promotion when the room is created, eviction of absent rooms' ids only, and the
// per-address rate of new ids.
#include "cluster/address_rate.hpp"
#include "cluster/short_ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace tandem::cluster {
namespace {

constexpr protocol::Millis kTtl = 10'000;
constexpr protocol::Millis kPending = 1'000;

ShortIds table(std::size_t max_evictable = 100) {
  return ShortIds(ShortIdOptions{kTtl, kPending, max_evictable});
}

std::string id_of(const ShortIds::Issued& issued) {
  EXPECT_TRUE(issued.lease.has_value());
  return issued.lease ? issued.lease->short_id : std::string();
}

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
  ShortIds ids = table();
  const auto first = ids.issue("room-1", true, 0);
  ASSERT_TRUE(first.created);
  EXPECT_EQ(first.lease->expires_at, kTtl);
  const auto again = ids.issue("room-1", true, 5000);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(id_of(again), id_of(first));
  EXPECT_EQ(again.lease->expires_at, 5000 + kTtl);            // the TTL slides
  EXPECT_EQ(ids.resolve(id_of(first), 14'000), "room-1");
  EXPECT_NE(id_of(ids.issue("room-2", true, 6000)), id_of(first));
}

TEST(ShortIds, ExpiredIdsResolveToNothingAndAreReplaced) {
  ShortIds ids = table();
  const std::string a = id_of(ids.issue("room-1", true, 0));
  EXPECT_FALSE(ids.resolve(a, kTtl));
  EXPECT_FALSE(ids.has_live("room-1", kTtl));
  const std::string b = id_of(ids.issue("room-1", true, 20'000));
  EXPECT_EQ(ids.resolve(b, 25'000), "room-1");
  EXPECT_EQ(ids.size(), 1u);
}

TEST(ShortIds, AnAbsentRoomsIdIsPendingUntilTheRoomIsCreated) {
  ShortIds ids = table();
  const auto pending = ids.issue("party", false, 0);
  EXPECT_EQ(pending.lease->expires_at, kPending);
  EXPECT_EQ(ids.evictable(), 1u);
  // Asked again before the JOIN: at least pending_ttl more, still pending.
  EXPECT_EQ(ids.issue("party", false, 600).lease->expires_at, 600 + kPending);
  // The JOIN creates the room: the full TTL, no longer evictable.
  const auto promoted = ids.room_created("party", 900);
  ASSERT_TRUE(promoted);
  EXPECT_EQ(promoted->short_id, id_of(pending));
  EXPECT_EQ(promoted->expires_at, 900 + kTtl);
  EXPECT_EQ(ids.evictable(), 0u);
  EXPECT_EQ(ids.resolve(id_of(pending), 5000), "party");
  // A room created without any short id: nothing to journal.
  EXPECT_FALSE(ids.room_created("other", 900));
}

TEST(ShortIds, AnExpiredPendingIdIsNotRevivedByItsRoom) {
  ShortIds ids = table();
  const std::string id = id_of(ids.issue("late", false, 0));
  EXPECT_FALSE(ids.room_created("late", kPending));
  EXPECT_FALSE(ids.resolve(id, kPending));
  EXPECT_EQ(ids.size(), 0u);
}

TEST(ShortIds, AnEndedRoomsIdKeepsItsExpiryButBecomesEvictable) {
  ShortIds ids = table(1);
  const std::string id = id_of(ids.issue("ended", true, 0));
  EXPECT_TRUE(ids.room_ended("ended", 100).empty());
  EXPECT_EQ(ids.evictable(), 1u);
  EXPECT_EQ(ids.resolve(id, kTtl - 1), "ended");  // not shortened
  // Asked for while the room is absent: not shortened either.
  EXPECT_EQ(ids.issue("ended", false, 200).lease->expires_at, kTtl);
  // A new pending id needs the only evictable place: the ended room's id goes.
  const auto next = ids.issue("next", false, 300);
  ASSERT_EQ(next.evicted.size(), 1u);
  EXPECT_EQ(next.evicted[0], (ShortIdLease{id, "ended", 300}));
  EXPECT_FALSE(ids.resolve(id, 300));
}

TEST(ShortIds, AFullTableEvictsAbsentRoomsIdsFirstAndNeverAnExistingRoomsId) {
  ShortIds ids = table(3);
  const std::string live = id_of(ids.issue("joined-room", true, 0));
  std::vector<std::string> pending;
  for (int i = 0; i < 3; ++i) {
    const auto issued = ids.issue("ghost-" + std::to_string(i), false, i);
    EXPECT_TRUE(issued.evicted.empty());
    pending.push_back(id_of(issued));
  }
  // Full: the next absent room's id evicts the one that expires first (ghost-0).
  const auto more = ids.issue("ghost-3", false, 10);
  ASSERT_EQ(more.evicted.size(), 1u);
  EXPECT_EQ(more.evicted[0].short_id, pending[0]);
  EXPECT_EQ(more.evicted[0].room_id, "ghost-0");
  EXPECT_FALSE(ids.resolve(pending[0], 10));
  EXPECT_EQ(ids.resolve(pending[1], 10), "ghost-1");
  // An existing room's id is always served, whatever the evictable count...
  for (int i = 0; i < 10; ++i) {
    const auto issued = ids.issue("real-" + std::to_string(i), true, 20);
    EXPECT_TRUE(issued.lease && issued.evicted.empty());
  }
  // ...and never evicted.
  for (int i = 0; i < 10; ++i) ids.issue("flood-" + std::to_string(i), false, 30);
  EXPECT_EQ(ids.resolve(live, 30), "joined-room");
  EXPECT_EQ(ids.evictable(), 3u);
  EXPECT_EQ(ids.size(), 1u + 10u + 3u);
}

TEST(ShortIds, ExpiredEvictableIdsAreDroppedWithoutCountingAsEvictions) {
  ShortIds ids = table(2);
  ids.issue("a", false, 0);
  ids.issue("b", false, 0);
  const auto c = ids.issue("c", false, kPending);  // a and b have expired
  EXPECT_TRUE(c.evicted.empty());
  EXPECT_EQ(ids.evictable(), 1u);
  EXPECT_EQ(ids.size(), 1u);
}

TEST(ShortIds, RestoreKeepsLiveIdsAndMarksAbsentRoomsEvictable) {
  ShortIds ids = table(1);
  ids.restore(ShortIdLease{"aaaaaaa", "here", 5000}, true, 0);
  ids.restore(ShortIdLease{"bbbbbbb", "gone", 5000}, false, 0);
  ids.restore(ShortIdLease{"ccccccc", "gone2", 6000}, false, 0);  // over the bound: b goes
  ids.restore(ShortIdLease{"ddddddd", "old", 100}, false, 200);    // expired: ignored
  ids.restore(ShortIdLease{"BAD", "x", 5000}, false, 0);           // malformed: ignored
  EXPECT_EQ(ids.resolve("aaaaaaa", 1), "here");
  EXPECT_FALSE(ids.resolve("bbbbbbb", 1));
  EXPECT_EQ(ids.resolve("ccccccc", 1), "gone2");
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ShortIds, WellFormedRejectsOtherShapes) {
  EXPECT_FALSE(ShortIds::is_well_formed("abc"));
  EXPECT_FALSE(ShortIds::is_well_formed("ABCDEFG"));
  EXPECT_FALSE(ShortIds::is_well_formed("abc-def"));
  EXPECT_TRUE(ShortIds::is_well_formed("a1b2c3d"));
}

TEST(AddressRate, AFixedWindowPerAddress) {
  AddressRate rate(3, 60'000, 100);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rate.take("1.1.1.1", 1000 + i).allowed);
  const auto refused = rate.take("1.1.1.1", 2000);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 59'000);               // until the window that began at 1000 ends
  EXPECT_TRUE(rate.take("2.2.2.2", 2000).allowed);     // another address is unaffected
  EXPECT_TRUE(rate.take("1.1.1.1", 61'000).allowed);   // a new window
}

// New rooms: connections of one address joining rooms it is creating count each once.
TEST(AddressRate, AnItemCountedInTheWindowIsNotCountedAgain) {
  AddressRate rate(2, 60'000, 100);
  for (int i = 0; i < 40; ++i) {
    EXPECT_TRUE(rate.take("1.1.1.1", 1000, i % 2 == 0 ? "party" : "other").allowed);
  }
  EXPECT_FALSE(rate.take("1.1.1.1", 1000, "third").allowed);
  EXPECT_FALSE(rate.take("1.1.1.1", 1000).allowed);                  // no item: always counted
  EXPECT_TRUE(rate.take("2.2.2.2", 1000, "third").allowed);          // per address
  EXPECT_TRUE(rate.take("1.1.1.1", 61'000, "third").allowed);        // a new window
  EXPECT_TRUE(rate.take("1.1.1.1", 61'000, "party").allowed);        // counted anew
  EXPECT_FALSE(rate.take("1.1.1.1", 61'000, "other").allowed);
}

TEST(AddressRate, TheTableIsBoundedAndFailsClosed) {
  AddressRate rate(5, 1000, 2);
  EXPECT_TRUE(rate.take("a", 0).allowed);
  EXPECT_TRUE(rate.take("b", 0).allowed);
  EXPECT_FALSE(rate.take("c", 10).allowed);  // full of live windows: a new address waits
  EXPECT_TRUE(rate.take("a", 10).allowed);   // known ones still count
  EXPECT_EQ(rate.size(), 2u);
  EXPECT_TRUE(rate.take("c", 1000).allowed);  // expired windows were pruned
  EXPECT_LE(rate.size(), 2u);
}

}  // namespace
}  // namespace tandem::cluster
