// What SqliteStore saves on writes, and that nothing is lost by it. Audit rows: committed
// to room_events_staging, moved into room_events_indexed in bulk (sqlite_sql.hpp, migration
// 3); the `room_events` view and the store's API see both tables; an id never changes when
// its row moves and is never handed out twice, across merges, retention, restarts and the
// migration of an existing file. Users rows: a snapshot rewrites only the members that
// changed since the store last wrote the room. Rooms rows: the version a snapshot is
// compared by moves into a column (migration 4). Real SQLite files in a temp dir.
#include "room/room_codec.hpp"
#include "store/sqlite_sql.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_backends.hpp"
#include "store/test_util.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tandem::store {
namespace {

using namespace test_util;
using namespace std::chrono_literals;

// Never due by time: merges happen only at `rows` staged rows.
SqliteOptions merge_at(std::size_t rows) { return SqliteOptions{std::chrono::hours(1), rows}; }

class SqliteWrites : public ::testing::Test {
 protected:
  std::filesystem::path file() const { return dir_.path() / SqliteStore::kFileName; }
  std::int64_t count(const std::string& sql) {
    const auto rows = sqlite_query(file(), sql);
    return std::stoll(rows.at(0).at(0).value_or("0"));
  }
  static std::vector<std::int64_t> seqs(const std::vector<StoredEvent>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) {
      out.push_back(boost::json::parse(e.data_json).at("seq").to_number<std::int64_t>());
    }
    return out;
  }
  void exec(const std::string& sql) {
    std::filesystem::create_directories(dir_.path());
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }

  TempDir dir_;
};

TEST_F(SqliteWrites, RowsAreReadWhileStagedAndKeepTheirIdsWhenMerged) {
  SqliteStore store(dir_.path(), merge_at(5));
  store.migrate();
  store.write_batch({audit("r", 0), audit("r", 1), audit("other", 2)});
  EXPECT_EQ(count("SELECT count(*) FROM room_events_staging"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM room_events_indexed"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM room_events"), 3);  // the view
  const auto staged = store.room_events("r", 10);
  EXPECT_EQ(seqs(staged), (std::vector<std::int64_t>{1, 0}));

  store.write_batch({audit("r", 3), audit("r", 4)});  // the fifth staged row: merged
  EXPECT_EQ(count("SELECT count(*) FROM room_events_staging"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM room_events_indexed"), 5);
  store.write_batch({audit("r", 5)});  // staged again, newer than every merged row

  const auto all = store.room_events("r", 10);
  EXPECT_EQ(seqs(all), (std::vector<std::int64_t>{5, 4, 3, 1, 0}));
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i - 1].id, all[i].id);
  EXPECT_EQ(all[3].id, staged[0].id);
  EXPECT_EQ(all[4].id, staged[1].id);
  EXPECT_EQ(seqs(store.room_events("r", 2)), (std::vector<std::int64_t>{5, 4}));
  EXPECT_EQ(seqs(store.room_events("other", 10)), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(count("SELECT count(*) FROM room_events"), 6);
}

TEST_F(SqliteWrites, AMergeIsDueOnceTheIntervalHasPassed) {
  SqliteStore store(dir_.path(), SqliteOptions{0ms, 1'000'000});
  store.migrate();
  store.write_batch({audit("r", 0), audit("r", 1)});
  EXPECT_EQ(count("SELECT count(*) FROM room_events_staging"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM room_events_indexed"), 2);
}

TEST_F(SqliteWrites, ARefusedBatchStagesNothingAndIdsGoOn) {
  SqliteStore store(dir_.path(), merge_at(100));
  store.migrate();
  store.write_batch({audit("r", 0)});
  EXPECT_THROW(store.write_batch({audit("r", 1), snapshot("", 1)}), StoreError);
  store.write_batch({audit("r", 2)});
  const auto events = store.room_events("r", 10);
  EXPECT_EQ(seqs(events), (std::vector<std::int64_t>{2, 0}));
  ASSERT_EQ(events.size(), 2U);
  EXPECT_GT(events[0].id, events[1].id);
  EXPECT_EQ(count("SELECT count(*) FROM room_events_staging"), 2);
}

TEST_F(SqliteWrites, RetentionDeletesOldRowsFromBothTables) {
  SqliteStore store(dir_.path(), merge_at(3));
  store.migrate();
  store.write_batch({audit("r", 0, 1000), audit("r", 1, 1001), audit("r", 2, 1002)});  // merged
  store.write_batch({audit("r", 3, 1003), audit("r", 4, 9000)});                       // staged
  EXPECT_EQ(count("SELECT count(*) FROM room_events_indexed"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM room_events_staging"), 2);
  EXPECT_EQ(store.delete_events_before(2000, 2), 2U);
  EXPECT_EQ(store.delete_events_before(2000, 2), 2U);  // the last merged one and a staged one
  EXPECT_EQ(store.delete_events_before(2000, 2), 0U);
  EXPECT_EQ(seqs(store.room_events("r", 10)), (std::vector<std::int64_t>{4}));
  // The count of staged rows is read again after retention took one: 2 staged now, below
  // the merge threshold of 3 (a stale count of 3 would have merged).
  store.write_batch({audit("r", 5, 9001)});
  EXPECT_EQ(count("SELECT count(*) FROM room_events_indexed"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM room_events_staging"), 2);
}

TEST_F(SqliteWrites, IdsAreNeverHandedOutTwiceAcrossRetentionAndRestarts) {
  std::int64_t highest = 0;
  {
    SqliteStore store(dir_.path(), merge_at(1));
    store.migrate();
    store.write_batch({audit("r", 0, 1000), audit("r", 1, 1001)});
    highest = store.room_events("r", 1).at(0).id;
    EXPECT_EQ(store.delete_events_before(5000, 100), 2U);  // every row gone, merged or not
    EXPECT_EQ(count("SELECT count(*) FROM room_events"), 0);
  }
  {
    SqliteStore store(dir_.path(), merge_at(100));  // restarted: this one stays staged
    store.migrate();
    store.write_batch({audit("r", 2)});
    const auto events = store.room_events("r", 10);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_GT(events[0].id, highest);
    highest = events[0].id;
  }
  {
    SqliteStore store(dir_.path(), merge_at(2));  // a staged row from the last run
    store.migrate();
    store.write_batch({audit("r", 3)});
    const auto events = store.room_events("r", 10);
    EXPECT_EQ(seqs(events), (std::vector<std::int64_t>{3, 2}));
    ASSERT_EQ(events.size(), 2U);
    EXPECT_GT(events[0].id, highest);
    EXPECT_EQ(count("SELECT count(*) FROM room_events_staging"), 0);  // 2 staged: merged
  }
}

// A file written before migration 3: its rows move under the view, and new ids continue
// after the highest ever assigned (3 here, although row 3 was deleted).
TEST_F(SqliteWrites, AnOlderFileKeepsItsEventsAndIdsGoOnAfterTheHighestEverUsed) {
  exec(std::string(sqlite_sql::kCreateSchemaMigrations) + ";" +
       std::string(sqlite_sql::kMigrations[0].sql) + std::string(sqlite_sql::kMigrations[1].sql) +
       "INSERT INTO schema_migrations VALUES (1, 'rooms_users_room_events', 1),"
       " (2, 'short_ids', 1);"
       "INSERT INTO room_events (room_id, event_type, user_id, data, created_at) VALUES"
       " ('r', 'JOIN', 'u', '{\"seq\":10}', 1), ('r', 'JOIN', 'u', '{\"seq\":11}', 2),"
       " ('r', 'JOIN', 'u', '{\"seq\":12}', 3);"
       "DELETE FROM room_events WHERE id = 3;");
  SqliteStore store(dir_.path(), merge_at(100));
  store.migrate();
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"),
            static_cast<std::int64_t>(sqlite_sql::kMigrations.size()));
  EXPECT_EQ(count("SELECT count(*) FROM room_events"), 2);
  store.write_batch({audit("r", 13)});
  const auto events = store.room_events("r", 10);
  EXPECT_EQ(seqs(events), (std::vector<std::int64_t>{13, 11, 10}));
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].id, 4);
  EXPECT_EQ(events[1].id, 2);
}

// A file written before migration 4: each room's version moves from its stored JSON into
// the column the snapshot upsert compares, so an older snapshot still never replaces a
// newer one; a row whose state is not JSON (never written so) starts at 0 instead of
// failing the migration.
TEST_F(SqliteWrites, AnOlderFileKeepsEachRoomsVersionForTheSnapshotCompare) {
  const std::string room_json = room::to_json_string(snapshot("room-1", 9).state);
  std::string before_4 = std::string(sqlite_sql::kCreateSchemaMigrations) + ";";
  for (std::size_t i = 0; i < 3; ++i) before_4 += sqlite_sql::kMigrations[i].sql;
  exec(before_4 +
       "INSERT INTO schema_migrations VALUES (1, 'rooms_users_room_events', 1),"
       " (2, 'short_ids', 1), (3, 'room_events_staging', 1);"
       "INSERT INTO rooms (id, state, created_at, updated_at) VALUES ('room-1', '" +
       room_json + "', 1, 1), ('odd', 'not json', 1, 1);");
  SqliteStore store(dir_.path(), merge_at(100));
  store.migrate();
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"),
            static_cast<std::int64_t>(sqlite_sql::kMigrations.size()));
  EXPECT_EQ(count("SELECT version FROM rooms WHERE id = 'room-1'"), 9);
  EXPECT_EQ(count("SELECT version FROM rooms WHERE id = 'odd'"), 0);

  store.write_batch({snapshot("room-1", 8)});  // late: the stored 9 stays
  EXPECT_EQ(count("SELECT json_extract(state, '$.version') FROM rooms WHERE id = 'room-1'"), 9);
  store.write_batch({snapshot("room-1", 10), snapshot("odd", 1)});
  EXPECT_EQ(count("SELECT version FROM rooms WHERE id = 'room-1'"), 10);
  EXPECT_EQ(count("SELECT json_extract(state, '$.version') FROM rooms WHERE id = 'room-1'"), 10);
  EXPECT_EQ(count("SELECT version FROM rooms WHERE id = 'odd'"), 1);
}

// Triggers count the statements that touch users rows: the first snapshot of a room writes
// all of them, one that changes nothing writes none, a heartbeat one, a member gone one
// delete; after a failed batch or a restart the next snapshot writes the room in full.
TEST_F(SqliteWrites, ASnapshotRewritesOnlyTheUsersRowsThatChanged) {
  auto store = std::make_unique<SqliteStore>(dir_.path());
  store->migrate();
  exec(
      "CREATE TABLE users_writes (n INTEGER NOT NULL); INSERT INTO users_writes VALUES (0);"
      "CREATE TRIGGER users_i AFTER INSERT ON users BEGIN UPDATE users_writes SET n = n + 1; END;"
      "CREATE TRIGGER users_u AFTER UPDATE ON users BEGIN UPDATE users_writes SET n = n + 1; END;"
      "CREATE TRIGGER users_d AFTER DELETE ON users BEGIN UPDATE users_writes SET n = n + 1; END;");
  const auto writes = [&] { return count("SELECT n FROM users_writes"); };
  std::uint64_t version = 0;
  const auto next = [&](const std::function<void(room::RoomState&)>& change) {
    RoomSnapshot snap = snapshot("room", ++version);
    change(snap.state);
    return snap;
  };
  const auto same = [](room::RoomState&) {};

  store->write_batch({next(same)});  // alice and bob
  EXPECT_EQ(writes(), 2);
  store->write_batch({next(same)});
  store->write_batch({next(same)});
  EXPECT_EQ(writes(), 2) << "nothing changed";

  const auto alice_beats = [](room::RoomState& s) { s.members[0].last_heartbeat += 5000; };
  store->write_batch({next(alice_beats)});
  EXPECT_EQ(writes(), 3);
  EXPECT_EQ(count("SELECT last_heartbeat FROM users WHERE id = 'alice'"), 1'700'000'005'401);

  const auto bob_gone = [&](room::RoomState& s) {
    alice_beats(s);
    s.members.pop_back();
  };
  store->write_batch({next(bob_gone)});
  EXPECT_EQ(writes(), 4);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'room'"), 1);

  EXPECT_THROW(store->write_batch({next(bob_gone), snapshot("", 1)}), StoreError);
  EXPECT_EQ(writes(), 4) << "rolled back";
  store->write_batch({next(bob_gone)});  // after a failed batch: in full (delete + insert)
  EXPECT_EQ(writes(), 6);

  store = std::make_unique<SqliteStore>(dir_.path());  // a restart: in full again
  store->migrate();
  store->write_batch({next(same)});  // alice and bob again
  EXPECT_EQ(writes(), 6 + 1 + 2);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'room'"), 2);
  EXPECT_EQ(count("SELECT last_heartbeat FROM users WHERE id = 'alice'"), 1'700'000'000'401);

  store->write_batch({RoomArchived{"room", 1'800'000'000'000}});
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'room'"), 0);
  store->write_batch({next(same)});  // re-created after the archive: written in full
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'room'"), 2);
}

}  // namespace
}  // namespace tandem::store
