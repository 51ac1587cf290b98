// The Store contract, run against both real stores: SQLite (temp dir) and PostgreSQL 15
// (a real server started by this test process).
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "store/journal.hpp"
#include "store/store_backends.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace tandem::store {
namespace {

using namespace test_util;

class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = make_backend(GetParam());
    store_ = backend_->make_store();
    store_->migrate();
  }
  std::string one(const std::string& sql) {
    const auto rows = backend_->query(sql);
    if (rows.size() != 1 || rows[0].size() != 1)
      return "<" + std::to_string(rows.size()) + " rows>";
    return rows[0][0].value_or("NULL");
  }
  std::int64_t count(const std::string& sql) { return std::stoll(one(sql)); }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, MigratingAgainIsANoOp) {
  const auto applied = store_->applied_migrations();
  // SQLite has two more: the audit rows' staging table and the rooms' version column
  // (sqlite_sql.hpp).
  const bool sqlite = GetParam() == std::string("sqlite");
  const std::size_t expected = sqlite ? 5 : 3;
  ASSERT_EQ(applied.size(), expected);
  EXPECT_EQ(applied[0].version, 1);
  EXPECT_EQ(applied[0].name, "rooms_users_room_events");
  EXPECT_EQ(applied[1].version, 2);
  EXPECT_EQ(applied[1].name, "short_ids");
  if (sqlite) {
    EXPECT_EQ(applied[2].name, "room_events_staging");
    EXPECT_EQ(applied[3].name, "rooms_version");
  }
  EXPECT_EQ(applied.back().name, "audit_bounds");
  EXPECT_GT(applied[0].applied_at, 0);

  store_->migrate();  // same connection
  auto other = backend_->make_store();
  other->migrate();  // another connection, as after a restart
  EXPECT_EQ(store_->applied_migrations(), applied);
  EXPECT_EQ(other->applied_migrations(), applied);
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<std::int64_t>(expected));
  EXPECT_EQ(other->kind(), GetParam());
}

TEST_P(StoreContract, ARoomWithMembersGateAndPinComesBackExactly) {
  const auto snap = snapshot("room-1", 7);
  store_->write_batch({snap});
  auto restarted = backend_->make_store();
  const auto rooms = restarted->load_live_rooms();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0], snap);

  // The readable columns, for operators and the old server's queries.
  EXPECT_EQ(one("SELECT host_user_id FROM rooms WHERE id = 'room-1'"), "alice");
  EXPECT_EQ(one("SELECT current_url FROM rooms WHERE id = 'room-1'"), snap.state.url);
  EXPECT_EQ(one("SELECT pin_hash FROM rooms WHERE id = 'room-1'"), snap.state.pin_hash);
  EXPECT_EQ(one("SELECT CASE WHEN is_playing AND guest_control_enabled THEN 'yes' ELSE 'no' END "
                "FROM rooms WHERE id = 'room-1'"),
            "yes");
  EXPECT_EQ(one("SELECT CASE WHEN archived_at IS NULL THEN 'live' ELSE 'archived' END "
                "FROM rooms WHERE id = 'room-1'"),
            "live");
  EXPECT_EQ(count("SELECT updated_at FROM rooms WHERE id = 'room-1'"), snap.at);
  const auto users = backend_->query(
      "SELECT id, username, connection_quality, last_heartbeat FROM users "
      "WHERE room_id = 'room-1' ORDER BY id");
  ASSERT_EQ(users.size(), 2U);
  EXPECT_EQ(users[0], (Row{"alice", "user alice", "connected", "1700000000401"}));
  EXPECT_EQ(users[1], (Row{"bob", std::nullopt, "disconnected", "1700000000402"}));

  // A newer snapshot replaces the row and the users.
  auto next = snapshot("room-1", 8);
  next.state.members.pop_back();
  next.state.gate.reset();
  next.state.pin_hash.clear();
  store_->write_batch({next});
  const auto again = restarted->load_live_rooms();
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0], next);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'room-1'"), 1);
  EXPECT_EQ(one("SELECT pin_hash FROM rooms WHERE id = 'room-1'"), "NULL");
}

TEST_P(StoreContract, ArchivedRoomsAreNotLoaded) {
  store_->write_batch({snapshot("a", 1), snapshot("b", 1), RoomArchived{"a", 1'700'000'009'000}});
  auto rooms = store_->load_live_rooms();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0].state.id, "b");
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'a'"), 0);
  EXPECT_EQ(count("SELECT archived_at FROM rooms WHERE id = 'a'"), 1'700'000'009'000);

  // The same id used again: live again.
  store_->write_batch({snapshot("a", 2)});
  rooms = store_->load_live_rooms();
  ASSERT_EQ(rooms.size(), 2U);
  EXPECT_EQ(rooms[0].state.id, "a");
  EXPECT_EQ(rooms[0].state.version, 2U);
  EXPECT_EQ(one("SELECT archived_at FROM rooms WHERE id = 'a'"), "NULL");
}

TEST_P(StoreContract, AnOlderSnapshotNeverReplacesANewerOne) {
  // Cluster nodes journal the same room independently; their batches may land in any order.
  auto newer = snapshot("room-1", 9);
  newer.state.members.pop_back();
  store_->write_batch({newer});
  store_->write_batch({snapshot("room-1", 8)});  // late, from another node
  auto rooms = store_->load_live_rooms();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0], newer);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'room-1'"), 1);  // users kept too
  // The same version again (a retried batch) is applied.
  store_->write_batch({newer});
  EXPECT_EQ(store_->load_live_rooms()[0], newer);
  // An archived room is a room that may be created again from version 0.
  store_->write_batch({RoomArchived{"room-1", 1'700'000'009'000}, snapshot("room-1", 1)});
  rooms = store_->load_live_rooms();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0].state.version, 1U);
}

TEST_P(StoreContract, LoadRoomReadsOneLiveRoom) {
  const auto snap = snapshot("room-1", 3);
  store_->write_batch({snap, snapshot("gone", 1), RoomArchived{"gone", 1'700'000'009'000}});
  auto restarted = backend_->make_store();
  const auto found = restarted->load_room("room-1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, snap);
  EXPECT_FALSE(restarted->load_room("gone").has_value());     // archived
  EXPECT_FALSE(restarted->load_room("unknown").has_value());  // never written
}

TEST_P(StoreContract, EventsComeNewestFirstWithALimit) {
  std::vector<JournalEntry> batch;
  for (int i = 0; i < 10; ++i) {
    batch.emplace_back(audit("r", i));
    if (i % 2 == 0) batch.emplace_back(audit("other", 100 + i));
  }
  AuditEvent anonymous{"r", "PIN_FAILED", "", {}, 1'700'000'000'099};
  anonymous.data["remote"] = "127.0.0.1";
  anonymous.data["nested"] = boost::json::array{1, "é", nullptr};
  store_->write_batch(batch);
  store_->write_batch({anonymous});

  const auto events = store_->room_events("r", 4);
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[0].event_type, "PIN_FAILED");
  EXPECT_EQ(events[0].user_id, "") << "NULL user";
  EXPECT_EQ(boost::json::parse(events[0].data_json), boost::json::value(anonymous.data));
  EXPECT_EQ(events[0].created_at, 1'700'000'000'099);
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i].id, events[i - 1].id);
    EXPECT_EQ(events[i].room_id, "r");
    const auto seq = 9 - static_cast<std::int64_t>(i - 1);
    EXPECT_EQ(boost::json::parse(events[i].data_json).at("seq").to_number<std::int64_t>(), seq);
    EXPECT_EQ(events[i].user_id, "u" + std::to_string(seq % 7));
    EXPECT_EQ(events[i].event_type, "JOIN");
  }
  EXPECT_EQ(store_->room_events("r", 1000).size(), 11U);
  EXPECT_TRUE(store_->room_events("nobody", 10).empty());
  EXPECT_TRUE(store_->room_events("r", 0).empty());
}

TEST_P(StoreContract, RetentionDeletesOnlyOldRowsInBatches) {
  std::vector<JournalEntry> batch;
  for (int i = 0; i < 25; ++i) batch.emplace_back(audit("r", i, 1000 + i));
  for (int i = 25; i < 30; ++i) batch.emplace_back(audit("r", i, 5000 + i));
  store_->write_batch(batch);

  EXPECT_EQ(store_->delete_events_before(2000, 10), 10U);
  EXPECT_EQ(store_->delete_events_before(2000, 10), 10U);
  EXPECT_EQ(store_->delete_events_before(2000, 10), 5U);
  EXPECT_EQ(store_->delete_events_before(2000, 10), 0U);
  EXPECT_EQ(count("SELECT count(*) FROM room_events"), 5);
  EXPECT_EQ(count("SELECT min(created_at) FROM room_events"), 5025);
}

TEST_P(StoreContract, IdleRoomsAreArchived) {
  store_->write_batch({snapshot("old", 1, 1000), snapshot("fresh", 1, 9000)});
  EXPECT_EQ(store_->archive_idle_rooms(5000, 9999), std::vector<std::string>{"old"});
  EXPECT_TRUE(store_->archive_idle_rooms(5000, 9999).empty()) << "already archived";
  const auto rooms = store_->load_live_rooms();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0].state.id, "fresh");
  EXPECT_EQ(count("SELECT archived_at FROM rooms WHERE id = 'old'"), 9999);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'old'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE room_id = 'fresh'"), 2);
}

TEST_P(StoreContract, ShortIdsKeepOnePerRoomAndExpire) {
  store_->write_batch({ShortIdRecord{"s1", "r1", 2000}, ShortIdRecord{"s2", "r2", 500}});
  EXPECT_EQ(store_->load_short_ids(1000), (std::vector<ShortIdRecord>{{"s1", "r1", 2000}}));
  store_->write_batch({ShortIdRecord{"s3", "r1", 3000}});  // r1 gets a new one
  EXPECT_EQ(store_->load_short_ids(1000), (std::vector<ShortIdRecord>{{"s3", "r1", 3000}}));
  store_->write_batch({ShortIdRecord{"s3", "r2", 4000}});  // an expired id reissued elsewhere
  EXPECT_EQ(store_->load_short_ids(1000), (std::vector<ShortIdRecord>{{"s3", "r2", 4000}}));
  // s1 went with r1's new id, s2 with r2's: one per room, and s3 belongs to r2 only.
  EXPECT_EQ(count("SELECT count(*) FROM short_ids"), 1);
  EXPECT_EQ(one("SELECT room_id FROM short_ids WHERE short_id = 's3'"), "r2");
}

TEST_P(StoreContract, ABatchIsAllOrNothing) {
  auto bad = snapshot("", 1);  // refused by the schema (a room needs an id)
  try {
    store_->write_batch({audit("r", 1), snapshot("ok", 1), bad});
    FAIL() << "the refused batch was accepted";
  } catch (const StoreError& e) {
    EXPECT_FALSE(e.transient()) << e.what();
  }
  EXPECT_EQ(count("SELECT count(*) FROM room_events"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM rooms"), 0);
  store_->write_batch({audit("r", 2)});  // the store still works
  EXPECT_EQ(count("SELECT count(*) FROM room_events"), 1);
}

TEST_P(StoreContract, AJournalWritesThroughTheStoreInOrder) {
  obs::Registry registry;
  obs::Logger logger("test", obs::Level::warn, stderr);
  TempDir spill_dir;
  JournalOptions options;
  options.spill_path = spill_dir.path() / "journal.spill";
  options.maintenance.events_retention_days = 0;
  options.maintenance.room_ttl_ms = 0;
  Journal journal(backend_->make_store(), options, registry, logger);
  for (int i = 0; i < 1500; ++i) {
    journal.append(audit("room", i));
    if (i % 100 == 0) journal.append(snapshot("room", static_cast<std::uint64_t>(i)));
  }
  EXPECT_TRUE(journal.flush(std::chrono::steady_clock::now() + std::chrono::seconds(20)).complete);
  const auto rows = backend_->query("SELECT data FROM room_events ORDER BY id");
  ASSERT_EQ(rows.size(), 1500U);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(boost::json::parse(*rows[i][0]).at("seq").to_number<std::int64_t>(),
              static_cast<std::int64_t>(i));
  }
  const auto rooms = store_->load_live_rooms();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0].state.version, 1400U) << "the newest snapshot wins";
  EXPECT_EQ(registry.sample("tandem_journal_backlog"), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tandem::store
