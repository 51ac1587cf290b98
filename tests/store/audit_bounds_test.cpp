// The audit log's bounds against both real stores (SQLite in a temp dir, a real PostgreSQL
// 15): every row counted in room_event_usage, a room over its quota and the whole log over
// its quota losing their oldest rows first, retention keeping the count right, archived
// rooms past retention deleted with their rows, expired short ids deleted, older rows
// counted by the migration, and a journal keeping a flooded room within its quota.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "store/audit_quota.hpp"
#include "store/journal.hpp"
#include "store/postgres_sql.hpp"
#include "store/sqlite_sql.hpp"
#include "store/store_backends.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

namespace tandem::store {
namespace {

using namespace test_util;

// A URL_CHANGE as the room machine records it, with a url of `url_bytes`.
AuditEvent url_change(const std::string& room, std::int64_t seq, std::size_t url_bytes = 200,
                      Millis at = 0) {
  AuditEvent e;
  e.room_id = room;
  e.event_type = "URL_CHANGE";
  e.user_id = "alice";
  e.data["url"] = "https://www.netflix.com/watch/" + std::string(url_bytes, 'x');
  e.data["currentTime"] = 0;
  e.data["seq"] = seq;
  e.at = at != 0 ? at : 1'700'000'000'000 + seq;
  return e;
}

std::int64_t bytes_of(const AuditEvent& e) {
  return audit_row_bytes(e.room_id, e.event_type, e.user_id, boost::json::serialize(e.data).size());
}

class AuditBounds : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = make_backend(GetParam());
    store_ = backend_->make_store();
    store_->migrate();
  }
  std::int64_t count(const std::string& sql) {
    const auto rows = backend_->query(sql);
    return rows.size() == 1 && rows[0].size() == 1 && rows[0][0] ? std::stoll(*rows[0][0]) : -1;
  }
  std::int64_t usage_of(const std::string& room) {
    return count("SELECT COALESCE(SUM(bytes), 0) FROM room_event_usage WHERE room_id = '" + room + "'");
  }
  // Every usage row equals what its room's rows add up to, and nothing is left uncounted.
  void expect_usage_matches_rows() {
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT room_id, SUM(size_bytes) AS b, COUNT(*) AS n "
                    "FROM room_events GROUP BY room_id) r LEFT JOIN room_event_usage u "
                    "ON u.room_id = r.room_id WHERE u.bytes IS NULL OR u.bytes <> r.b "
                    "OR u.row_count <> r.n"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM room_event_usage WHERE room_id NOT IN "
                    "(SELECT room_id FROM room_events)"),
              0);
    EXPECT_EQ(store_->audit_bytes(), count("SELECT COALESCE(SUM(size_bytes), 0) FROM room_events"));
  }
  std::vector<std::int64_t> seqs_of(const std::string& room) {
    std::vector<std::int64_t> out;
    for (const auto& row :
         backend_->query("SELECT data FROM room_events WHERE room_id = '" + room + "' ORDER BY id")) {
      out.push_back(boost::json::parse(*row[0]).at("seq").to_number<std::int64_t>());
    }
    return out;
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Store> store_;
};

TEST_P(AuditBounds, EveryRowIsCountedWithItsBytes) {
  const auto a1 = url_change("a", 1, 2000);
  const auto a2 = url_change("a", 2, 10);
  const auto b1 = audit("b", 3);
  const auto usage = store_->write_batch({a1, snapshot("a", 1), b1, a2});
  ASSERT_EQ(usage.size(), 2U);
  EXPECT_EQ(usage[0], (AuditUsage{"a", bytes_of(a1) + bytes_of(a2), 2, bytes_of(a1) + bytes_of(a2)}));
  EXPECT_EQ(usage[1], (AuditUsage{"b", bytes_of(b1), 1, bytes_of(b1)}));
  const auto a3 = url_change("a", 4, 50);
  const auto more = store_->write_batch({a3});
  ASSERT_EQ(more.size(), 1U);
  EXPECT_EQ(more[0].bytes, bytes_of(a1) + bytes_of(a2) + bytes_of(a3));
  EXPECT_EQ(more[0].rows, 3);
  EXPECT_EQ(more[0].added, bytes_of(a3));
  EXPECT_GT(bytes_of(a1), 2000);
  expect_usage_matches_rows();
}

TEST_P(AuditBounds, ARoomOverItsQuotaLosesItsOldestRowsFirstAndOnlyItsOwn) {
  std::vector<JournalEntry> batch;
  std::int64_t row = 0;
  for (int i = 0; i < 50; ++i) {
    batch.emplace_back(url_change("big", i));
    if (i % 10 == 0) batch.emplace_back(url_change("small", 100 + i));
  }
  store_->write_batch(batch);
  row = bytes_of(url_change("big", 10));  // every big row has this size (seq of 2 digits)
  const std::int64_t before = usage_of("big");
  ASSERT_GT(before, 40 * row);

  // At most 5 rows per call: the five oldest.
  const AuditDeleted first = store_->trim_room_events("big", 20 * row, 5);
  EXPECT_EQ(first.rows, 5);
  EXPECT_EQ(first.bytes_after, before - first.bytes);
  // Then down to the target: only what it takes, oldest first.
  const AuditDeleted rest = store_->trim_room_events("big", 20 * row, 1000);
  EXPECT_EQ(rest.bytes_after, usage_of("big"));
  EXPECT_LE(rest.bytes_after, 20 * row);
  EXPECT_GT(rest.bytes_after, 19 * row) << "deleted more than needed";
  const auto left = seqs_of("big");
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.back(), 49);
  for (std::size_t i = 1; i < left.size(); ++i) EXPECT_EQ(left[i], left[i - 1] + 1);  // newest kept
  EXPECT_EQ(seqs_of("small").size(), 5U) << "another room's rows are not touched";
  // Within bounds: nothing more.
  EXPECT_EQ(store_->trim_room_events("big", 20 * row, 1000).rows, 0);
  EXPECT_EQ(store_->trim_room_events("nobody", 0, 1000).rows, 0);
  expect_usage_matches_rows();
}

TEST_P(AuditBounds, TheWholeLogOverItsQuotaLosesItsOldestRowsWhicheverTheRoom) {
  std::vector<JournalEntry> batch;
  for (int i = 0; i < 30; ++i) batch.emplace_back(url_change(std::string("r").append(std::to_string(i % 3)), i));
  store_->write_batch(batch);
  const std::int64_t row = bytes_of(url_change("r0", 0));  // seqs 0-9: one digit each
  const AuditDeleted d = store_->trim_oldest_events(10 * row, 1000);
  EXPECT_EQ(d.rows, 10);
  // The ten oldest went: seqs 0..9 of every room.
  std::vector<std::int64_t> left;
  for (const auto& r : backend_->query("SELECT data FROM room_events ORDER BY id")) {
    left.push_back(boost::json::parse(*r[0]).at("seq").to_number<std::int64_t>());
  }
  ASSERT_EQ(left.size(), 20U);
  EXPECT_EQ(left.front(), 10);
  EXPECT_EQ(store_->trim_oldest_events(1'000'000, 4).rows, 4) << "bounded per call";
  expect_usage_matches_rows();
}

TEST_P(AuditBounds, RetentionKeepsTheCountsRight) {
  std::vector<JournalEntry> batch;
  for (int i = 0; i < 20; ++i) batch.emplace_back(url_change(i % 2 == 0 ? "even" : "odd", i, 100, 1000 + i));
  batch.emplace_back(url_change("odd", 99, 100, 9000));
  store_->write_batch(batch);
  EXPECT_EQ(store_->delete_events_before(2000, 7), 7U);
  EXPECT_EQ(store_->delete_events_before(2000, 100), 13U);
  EXPECT_EQ(count("SELECT count(*) FROM room_event_usage WHERE room_id = 'even'"), 0)
      << "an emptied room's usage row goes";
  EXPECT_EQ(count("SELECT row_count FROM room_event_usage WHERE room_id = 'odd'"), 1);
  expect_usage_matches_rows();
}

TEST_P(AuditBounds, ArchivedRoomsPastRetentionAreDeletedWithTheirRows) {
  store_->write_batch({snapshot("old", 1, 500), url_change("old", 1, 100, 600),
                       url_change("old", 2, 100, 700), RoomArchived{"old", 1000},
                       snapshot("recent", 1, 500), url_change("recent", 3, 100, 600),
                       RoomArchived{"recent", 5000},
                       snapshot("live", 1, 500), url_change("live", 4, 100, 600),
                       snapshot("again", 1, 500), url_change("again", 5, 100, 600),
                       RoomArchived{"again", 1000}});
  // "again" is created anew after its archiving: a live room is never deleted.
  store_->write_batch({snapshot("again", 1, 1500), url_change("again", 6, 100, 1600)});

  EXPECT_EQ(store_->delete_archived_rooms(2000, 100), 1U);
  EXPECT_EQ(count("SELECT count(*) FROM rooms WHERE id = 'old'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM room_events WHERE room_id = 'old'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM room_event_usage WHERE room_id = 'old'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM rooms WHERE id IN ('recent', 'live', 'again')"), 3);
  EXPECT_EQ(seqs_of("recent"), std::vector<std::int64_t>{3});
  EXPECT_EQ(seqs_of("again"), (std::vector<std::int64_t>{5, 6}));
  EXPECT_EQ(store_->delete_archived_rooms(2000, 100), 0U);
  EXPECT_EQ(store_->delete_archived_rooms(6000, 100), 1U);  // "recent" now
  EXPECT_TRUE(seqs_of("recent").empty());
  EXPECT_TRUE(store_->load_room("live").has_value());
  expect_usage_matches_rows();
}

TEST_P(AuditBounds, ArchivedRoomsAreDeletedInBoundedBatches) {
  std::vector<JournalEntry> batch;
  for (int i = 0; i < 7; ++i) {
    const std::string id = "gone-" + std::to_string(i);
    batch.emplace_back(snapshot(id, 1, 100));
    batch.emplace_back(RoomArchived{id, 200 + i});
  }
  store_->write_batch(batch);
  EXPECT_EQ(store_->delete_archived_rooms(1000, 3), 3U);
  EXPECT_EQ(store_->delete_archived_rooms(1000, 3), 3U);
  EXPECT_EQ(store_->delete_archived_rooms(1000, 3), 1U);
  EXPECT_EQ(count("SELECT count(*) FROM rooms"), 0);
}

TEST_P(AuditBounds, ExpiredShortIdsAreDeleted) {
  store_->write_batch({ShortIdRecord{"aaaaaaa", "r1", 1000}, ShortIdRecord{"bbbbbbb", "r2", 2000},
                       ShortIdRecord{"ccccccc", "r3", 9000}});
  EXPECT_EQ(store_->delete_expired_short_ids(5000, 1), 1U);
  EXPECT_EQ(store_->delete_expired_short_ids(5000, 10), 1U);
  EXPECT_EQ(store_->delete_expired_short_ids(5000, 10), 0U);
  EXPECT_EQ(store_->load_short_ids(5000), (std::vector<ShortIdRecord>{{"ccccccc", "r3", 9000}}));
}

// End to end through the journal: one room flooded with 2 KB URL_CHANGEs stays within its
// quota, keeping its newest rows; a quiet room keeps all of its own.
TEST_P(AuditBounds, AJournalKeepsAFloodedRoomWithinItsQuota) {
  obs::Registry registry;
  obs::Logger logger("test", obs::Level::warn, stderr);
  TempDir spill_dir;
  JournalOptions options;
  options.spill_path = spill_dir.path() / "journal.spill";
  options.maintenance.events_max_bytes_per_room = 64 * 1024;
  options.maintenance.events_max_bytes = 0;
  options.maintenance.events_retention_days = 0;  // the rows are dated 2023: only the quota deletes here
  options.maintenance.room_ttl_ms = 0;
  Journal journal(backend_->make_store(), options, registry, logger);
  for (int i = 0; i < 400; ++i) {
    journal.append(url_change("flooded", i, 2000));
    if (i % 50 == 0) journal.append(url_change("quiet", 1000 + i, 100));
  }
  // Trimming runs between batches; wait for it to catch up with the last one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline &&
         (journal.backlog() > 0 || usage_of("flooded") > 64 * 1024)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling the database
  }
  journal.flush(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_LE(usage_of("flooded"), 64 * 1024);
  EXPECT_GT(usage_of("flooded"), 64 * 1024 / 2);
  const auto left = seqs_of("flooded");
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.back(), 399);
  for (std::size_t i = 1; i < left.size(); ++i) ASSERT_EQ(left[i], left[i - 1] + 1);
  EXPECT_EQ(seqs_of("quiet").size(), 8U);
  EXPECT_GT(registry.sample("tandem_store_events_deleted_total", {{"reason", "room_quota"}}), 0);
  expect_usage_matches_rows();
}

INSTANTIATE_TEST_SUITE_P(Stores, AuditBounds, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// A database written before the bounds existed: the migration counts its rows (the same
// sum the store computes for new rows) and its rooms' usage.
void exec_sqlite(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message << "\n" << sql;
}

const std::string kOldRows =
    "INSERT INTO %T (id, room_id, event_type, user_id, data, created_at) VALUES "
    "(%I1, 'old', 'URL_CHANGE', 'alice', '{\"url\":\"https://example.com/\"}', 1000), "
    "(%I2, 'old', 'LEAVE', NULL, '{}', 1001)";

std::string old_rows(const std::string& table, int first_id) {
  std::string sql = kOldRows;
  sql.replace(sql.find("%T"), 2, table);
  sql.replace(sql.find("%I1"), 3, std::to_string(first_id));
  sql.replace(sql.find("%I2"), 3, std::to_string(first_id + 1));
  return sql;
}

TEST(AuditBoundsMigration, SqliteCountsRowsWrittenBefore) {
  SqliteBackend backend;
  const auto dir = backend.dir() / "data";
  std::filesystem::create_directories(dir);
  const auto db = dir / SqliteStore::kFileName;
  exec_sqlite(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
                  "NULL, applied_at BIGINT NOT NULL)");
  for (const Migration& m : sqlite_sql::kMigrations) {
    if (m.version > 4) break;
    exec_sqlite(db, std::string(m.sql));
    exec_sqlite(db, "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", '" +
                        std::string(m.name) + "', 1)");
  }
  exec_sqlite(db, old_rows("room_events_indexed", 1));
  exec_sqlite(db, old_rows("room_events_staging", 3));
  auto store = backend.make_store();
  store->migrate();
  const std::int64_t url = audit_row_bytes("old", "URL_CHANGE", "alice",
                                           std::string_view(R"({"url":"https://example.com/"})").size());
  const std::int64_t leave = audit_row_bytes("old", "LEAVE", "", 2);
  EXPECT_EQ(std::stoll(*backend.query("SELECT SUM(size_bytes) FROM room_events")[0][0]),
            2 * (url + leave));
  EXPECT_EQ(store->audit_bytes(), 2 * (url + leave));
  EXPECT_EQ(*backend.query("SELECT row_count FROM room_event_usage WHERE room_id = 'old'")[0][0], "4");
  store->migrate();  // again: a no-op
  EXPECT_EQ(store->audit_bytes(), 2 * (url + leave));
}

TEST(AuditBoundsMigration, PostgresqlCountsRowsWrittenBefore) {
  PostgresBackend backend(SharedPostgres::server());
  backend.query("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at BIGINT NOT NULL)");
  for (const Migration& m : postgres_sql::kMigrations) {
    if (m.version > 2) break;
    backend.query(std::string(m.sql));
    backend.query("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", '" +
                  std::string(m.name) + "', 1)");
  }
  std::string rows = old_rows("room_events", 1);
  backend.query(rows);
  auto store = backend.make_store();
  store->migrate();
  // JSONB keeps its own text: the migration counts that (what octet_length(data::text) is).
  const auto text = backend.query("SELECT data::text FROM room_events ORDER BY id");
  const std::int64_t url = audit_row_bytes("old", "URL_CHANGE", "alice", text[0][0]->size());
  const std::int64_t leave = audit_row_bytes("old", "LEAVE", "", text[1][0]->size());
  EXPECT_EQ(store->audit_bytes(), url + leave);
  EXPECT_EQ(*backend.query("SELECT row_count FROM room_event_usage WHERE room_id = 'old'")[0][0], "2");
  store->migrate();
  EXPECT_EQ(store->audit_bytes(), url + leave);
}

}  // namespace
}  // namespace tandem::store
