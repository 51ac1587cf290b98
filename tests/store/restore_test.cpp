// Restore at start: database rows overlaid with a leftover spill file.
#include "store/restore.hpp"
#include "store/entry_codec.hpp"
#include "store/spill_file.hpp"
#include "store/sqlite_store.hpp"
#include "store/test_util.hpp"

#include <gtest/gtest.h>

namespace tandem::store {
namespace {

using namespace test_util;

TEST(Restore, OverlaysTheSpillFileOnTheDatabaseAndAppliesTheRoomTtl) {
  TempDir dir;
  constexpr Millis kNow = 1'800'000'000'000;
  constexpr Millis kTtl = 4 * 3600 * 1000;
  const auto spill_path = dir.path() / "journal.spill";
  {
    SqliteStore store(dir.path());
    store.migrate();
    store.write_batch({snapshot("a", 1, kNow - 1000), snapshot("stale", 1, kNow - kTtl - 1),
                       snapshot("d", 1, kNow - 500), ShortIdRecord{"s1", "a", kNow + 1000},
                       ShortIdRecord{"sd", "d", kNow - 1}});
  }
  {
    // Written while the database was down, at the end of the previous run.
    SpillFile spill(spill_path, std::uint64_t{1} << 30);
    std::string error;
    for (const JournalEntry& e : std::vector<JournalEntry>{
             snapshot("a", 9, kNow - 100), audit("a", 1), snapshot("c", 1, kNow - 50),
             RoomArchived{"d", kNow - 40}, ShortIdRecord{"s2", "a", kNow + 2000},
             ShortIdRecord{"s3", "c", kNow + 3000}}) {
      ASSERT_TRUE(spill.append(encode_entry(e), error)) << error;
    }
  }
  SqliteStore store(dir.path());
  const auto restored = restore(store, spill_path, kNow, kTtl);
  ASSERT_EQ(restored.rooms.size(), 2U);
  EXPECT_EQ(restored.rooms[0], snapshot("a", 9, kNow - 100)) << "the newer spilled snapshot";
  EXPECT_EQ(restored.rooms[1].state.id, "c");
  EXPECT_EQ(restored.archived_idle, std::vector<std::string>{"stale"});
  EXPECT_EQ(restored.short_ids,
            (std::vector<ShortIdRecord>{{"s2", "a", kNow + 2000}, {"s3", "c", kNow + 3000}}));
  EXPECT_EQ(restored.spilled_entries, 6U);
  EXPECT_TRUE(std::filesystem::exists(spill_path)) << "left for the journal to replay";
}

TEST(Restore, WithoutASpillFileReturnsTheDatabaseRooms) {
  TempDir dir;
  SqliteStore store(dir.path());
  const auto empty = restore(store, dir.path() / "none.spill", 5000, 0);
  EXPECT_TRUE(empty.rooms.empty());
  store.write_batch({snapshot("a", 1, 1000)});
  const auto restored = restore(store, dir.path() / "none.spill", 5000, 0);
  ASSERT_EQ(restored.rooms.size(), 1U);
  EXPECT_EQ(restored.rooms[0], snapshot("a", 1, 1000));
}

}  // namespace
}  // namespace tandem::store
