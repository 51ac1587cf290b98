// TransitionJournal: audit rows at once, snapshots coalesced until the flush, an emptied
// room archived, in both keeping modes. No clock and no timer: the test calls flush().
#include "cluster/transition_journal.hpp"
#include "vector_journal.hpp"

#include <gtest/gtest.h>

#include <map>

namespace tandem::cluster {
namespace {

using protocol::Millis;
constexpr Millis kJournalT0 = 1'700'000'000'000;

using Sink = VectorJournal;

room::RoomState room_with(std::size_t members, double current_time) {
  room::RoomState state;
  state.id = "r1";
  state.current_time = current_time;
  for (std::size_t i = 0; i < members; ++i) {
    room::Member m;
    m.user_id = std::string("u").append(std::to_string(i));  // GCC 12 -O3: docs/TESTING.md
    state.members.push_back(m);
  }
  return state;
}

room::Effects changed(std::vector<room::Record> records = {}) {
  room::Effects fx;
  fx.changed = true;
  fx.records = std::move(records);
  return fx;
}

TEST(TransitionJournalTest, AuditRowsGoAtOnceSnapshotsWaitForTheFlush) {
  Sink sink;
  TransitionJournal journal(&sink, TransitionJournal::Keep::copy);
  journal.record("r1", changed({room::Record{"JOIN", "u0", {}}}), room_with(1, 1), kJournalT0);
  ASSERT_EQ(sink.of<store::AuditEvent>().size(), 1u);
  EXPECT_EQ(sink.of<store::AuditEvent>()[0].event_type, "JOIN");
  EXPECT_EQ(sink.of<store::RoomSnapshot>().size(), 0u);
  EXPECT_EQ(journal.unsaved(), 1u);
  // Many changes, one snapshot: the newest.
  for (int i = 2; i <= 5; ++i) journal.record("r1", changed(), room_with(1, i), kJournalT0 + i);
  journal.flush(kJournalT0 + 10);
  const auto snapshots = sink.of<store::RoomSnapshot>();
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_DOUBLE_EQ(snapshots[0].state.current_time, 5);
  EXPECT_EQ(journal.unsaved(), 0u);
  journal.flush(kJournalT0 + 20);
  EXPECT_EQ(sink.of<store::RoomSnapshot>().size(), 1u);  // nothing new
}

TEST(TransitionJournalTest, AnUnchangedRoomHasNoSnapshotButItsRecordsAreKept) {
  Sink sink;
  TransitionJournal journal(&sink, TransitionJournal::Keep::copy);
  room::Effects fx;
  fx.records.push_back(room::Record{"PIN_FAILED", "u9", {}});
  journal.record("r1", fx, room_with(1, 0), kJournalT0);
  EXPECT_EQ(sink.of<store::AuditEvent>().size(), 1u);
  EXPECT_EQ(journal.unsaved(), 0u);
}

TEST(TransitionJournalTest, AnEmptiedRoomIsArchivedAndItsPendingSnapshotDropped) {
  Sink sink;
  TransitionJournal journal(&sink, TransitionJournal::Keep::copy);
  journal.record("r1", changed(), room_with(1, 3), kJournalT0);
  journal.record("r1", changed({room::Record{"LEAVE", "u0", {}}}), room_with(0, 3), kJournalT0 + 1);
  ASSERT_EQ(sink.of<store::RoomArchived>().size(), 1u);
  EXPECT_EQ(sink.of<store::RoomArchived>()[0].room_id, "r1");
  journal.flush(kJournalT0 + 2);
  EXPECT_EQ(sink.of<store::RoomSnapshot>().size(), 0u);
}

TEST(TransitionJournalTest, AReferencedSnapshotIsReadAtTheFlushAndAGoneRoomSkipped) {
  Sink sink;
  TransitionJournal journal(&sink, TransitionJournal::Keep::reference);
  std::map<std::string, room::RoomState> rooms{{"r1", room_with(1, 1)}, {"r2", room_with(1, 1)}};
  journal.record("r1", changed(), rooms["r1"], kJournalT0);
  journal.record("r2", changed(), rooms["r2"], kJournalT0);
  rooms["r1"].current_time = 42;  // changed after: the flush writes what is there then
  rooms.erase("r2");
  journal.flush(kJournalT0 + 1, [&](const std::string& id) -> const room::RoomState* {
    auto it = rooms.find(id);
    return it == rooms.end() ? nullptr : &it->second;
  });
  const auto snapshots = sink.of<store::RoomSnapshot>();
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_DOUBLE_EQ(snapshots[0].state.current_time, 42);
}

TEST(TransitionJournalTest, WithoutASinkNothingIsKept) {
  TransitionJournal journal(nullptr, TransitionJournal::Keep::copy);
  journal.record("r1", changed({room::Record{"JOIN", "u0", {}}}), room_with(1, 1), kJournalT0);
  EXPECT_EQ(journal.unsaved(), 0u);
  EXPECT_FALSE(journal.enabled());
}

}  // namespace
}  // namespace tandem::cluster
