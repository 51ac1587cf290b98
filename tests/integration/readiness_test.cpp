// GET /ready follows the durable store: 503 {"reason":"store"} while the journal cannot
// write (SQLite locked by another process; PostgreSQL stopped), 200 again once it can.
// Both run in the standalone and the cluster suite (cluster nodes keep their own SQLite
// record unless DATABASE_URL is set).
#include "common/test_os.hpp"
#include "store/postgres_server.hpp"
#include "support/fixture.hpp"

#include <sqlite3.h>

#include <filesystem>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class ReadinessTest : public TandemTest {
 protected:
  // /ready's status code and body, polled until `status` (false: it never came).
  bool ready_becomes(std::uint16_t port, int status, Millis timeout, json::object* body = nullptr) {
    return eventually([&] {
      const HttpResponse res = http_get(port, "/ready");
      if (res.status != status) return false;
      if (body != nullptr) *body = res.json_object();
      return true;
    }, timeout);
  }
  // One audited change, so that the journal has something to write.
  static void change(WsClient& client, double position) {
    client.send_json(msg::play_pause("pause", position));
    client.expect("PLAY_PAUSE");
  }
};

// Another process holding SQLite's write lock: the writer's BEGIN IMMEDIATE times out
// (SQLITE_BUSY after the 5 s busy timeout), the journal retries; /ready is 503 meanwhile.
TEST_F(ReadinessTest, FollowsALockedSqliteDatabase) {
  TempDir data("tandem-ready");
  auto& server = start_server({{"DATA_DIR", data.path().string()}});
  auto alice = connect("alice");
  join(*alice, "ready-room", "alice");
  const std::filesystem::path db_path = data.path() / "tandem.db";
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(db_path); }, 10s));
  ASSERT_EQ(http_get(server.port(), "/ready").status, 200);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_busy_timeout(db, 10'000), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  change(*alice, 1);
  json::object body;
  const bool went_down = ready_becomes(server.port(), 503, 30s, &body);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_TRUE(went_down) << "/ready stayed 200 while the database was locked";
  EXPECT_EQ(str(body, "status"), "unavailable");
  EXPECT_EQ(str(body, "reason"), "store");
  EXPECT_EQ(metric_of(0, "tandem_store_up"), 0);

  // Released: the next retry (backoff at most 5 s) commits, and /ready is 200 again.
  EXPECT_TRUE(ready_becomes(server.port(), 200, 30s)) << "/ready stayed 503 after the lock";
  expect_alive(*alice);  // the clients never noticed
  change(*alice, 2);
  EXPECT_TRUE(server.wait_for_log_msg("store_recovered", 10s));
}

TEST_F(ReadinessTest, FollowsAStoppedPostgresql) {
  PostgresServer postgres;
  auto& server = start_server({{"DATABASE_URL", postgres.create_database()}});
  auto alice = connect("alice");
  join(*alice, "ready-room", "alice");
  ASSERT_TRUE(eventually([&] { return metric_of(0, "tandem_journal_batches_total") > 0; }, 10s));
  ASSERT_EQ(http_get(server.port(), "/ready").status, 200);

  postgres.stop();
  change(*alice, 1);
  json::object body;
  ASSERT_TRUE(ready_becomes(server.port(), 503, 30s, &body)) << "/ready stayed 200";
  EXPECT_EQ(str(body, "reason"), "store");
  change(*alice, 2);  // still served, spilled meanwhile
  postgres.start();
  EXPECT_TRUE(ready_becomes(server.port(), 200, 30s)) << "/ready stayed 503 after the restart";
  EXPECT_TRUE(server.wait_for_log_msg("store_recovered", 10s));
}

// READY_REQUIRES_STORE=false: an operator who prefers serving while the record spills.
TEST_F(ReadinessTest, CanIgnoreTheStore) {
  PostgresServer postgres;
  auto& server =
      start_server({{"DATABASE_URL", postgres.create_database()}, {"READY_REQUIRES_STORE", "false"}});
  auto alice = connect("alice");
  join(*alice, "ready-room", "alice");
  postgres.stop();
  change(*alice, 1);
  ASSERT_TRUE(server.wait_for_log_msg("store_unavailable", 30s));
  EXPECT_EQ(http_get(server.port(), "/ready").status, 200);
}

}  // namespace
}  // namespace tandem::test
