// Bounded tables against the real binary (docs/SECURITY.md, "Tables and disks" and "Status
// listing"): a flood of short ids for rooms that do not exist is refused past the
// per-address rate while a joined room still gets its id with the full TTL; a full table
// evicts ids of absent rooms, never a live room's; /status is a bounded page. The
// integration-cluster suite runs the same on cluster nodes (Redis keys instead of tables).
#include "common/test_os.hpp"
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <set>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kFullTtlMs = 4LL * 3600 * 1000;

class BoundsTest : public TandemTest {
 protected:
  // The expires_at the node's record holds for `short_id` (its SQLite file), once written.
  static std::optional<std::int64_t> recorded_expiry(const std::filesystem::path& data_dir,
                                                     const std::string& short_id) {
    sqlite3* db = nullptr;
    std::optional<std::int64_t> out;
    const std::string path = (data_dir / "tandem.db").string();
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 2000);
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT expires_at FROM short_ids WHERE short_id = ?1", -1,
                             &stmt, nullptr) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, short_id.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt) == SQLITE_ROW) out = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return out;
  }
  static std::string short_id_of(HttpConnection& http, const std::string& room) {
    const HttpResponse res = http.request("GET", "/api/short-id/" + room);
    EXPECT_EQ(res.status, 200) << room << ": " << res.describe();
    return res.status == 200 ? str(res.json_object(), "shortId") : std::string();
  }
  static int resolve_status(std::uint16_t port, const std::string& short_id) {
    return http_get(port, "/api/room/" + short_id).status;
  }
};

TEST_F(BoundsTest, AShortIdFloodFromOneAddressIsRefusedWhileARealRoomIsServed) {
  TempDir data("tandem-bounds");
  auto& server = start_server({{"DATA_DIR", data.path().string()},
                               {"SHORT_ID_MAX_NEW_PER_ADDRESS", "20"},
                               {"SHORT_ID_PENDING_TTL_MS", "1000"}});
  auto alice = joined("real-room", "alice");
  HttpConnection http;
  http.connect(server.port());

  // 200 ids for rooms that do not exist, from this one address: 20 served, then 429.
  int served = 0;
  int refused = 0;
  std::string ghost;
  const auto flood_start = Clock::now();
  for (int i = 0; i < 200; ++i) {
    const HttpResponse res = http.request("GET", "/api/short-id/ghost-" + std::to_string(i));
    if (res.status == 200) {
      if (ghost.empty()) ghost = str(res.json_object(), "shortId");
      ++served;
    } else {
      ASSERT_EQ(res.status, 429) << res.describe();
      EXPECT_EQ(str(res.json_object(), "error"), "Too many new short ids from this address");
      const int retry = std::stoi(res.header("Retry-After"));
      EXPECT_GE(retry, 1);
      EXPECT_LE(retry, 60);
      ++refused;
    }
  }
  EXPECT_EQ(served, 20);
  EXPECT_EQ(refused, 180);
  EXPECT_EQ(metric("tandem_short_ids_refused_total", {{"reason", "rate_limited"}}), 180);
  // Logged, but rate-limited: a line per 10 s at most, not 180.
  const auto flood_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - flood_start).count();
  ASSERT_TRUE(server.wait_for_log_msg("short_id_refused", 5s));
  EXPECT_LE(server.count_log_msg("short_id_refused"), static_cast<std::size_t>(flood_seconds / 10 + 1));

  // The joined room is still served, with the full TTL.
  const std::int64_t before = now_ms();
  const std::string real = short_id_of(http, "real-room");
  ASSERT_FALSE(real.empty());
  std::optional<std::int64_t> expiry;
  ASSERT_TRUE(eventually([&] { return (expiry = recorded_expiry(data.path(), real)).has_value(); },
                         10s));
  EXPECT_GE(*expiry, before + kFullTtlMs);
  EXPECT_LE(*expiry, now_ms() + kFullTtlMs);
  // The flood's ids were short-lived: after SHORT_ID_PENDING_TTL_MS they resolve to nothing,
  // while the real room's id still does.
  ASSERT_FALSE(ghost.empty());
  EXPECT_TRUE(eventually([&] { return resolve_status(server.port(), ghost) == 404; }, 5s));
  EXPECT_EQ(resolve_status(server.port(), real), 200);
  expect_alive(*alice);
}

TEST_F(BoundsTest, AnIdAskedForBeforeTheJoinGetsTheFullTtlOnceTheRoomExists) {
  TempDir data("tandem-bounds");
  auto& server = start_server(
      {{"DATA_DIR", data.path().string()}, {"SHORT_ID_PENDING_TTL_MS", "1000"}});
  HttpConnection http;
  http.connect(server.port());
  const std::string id = short_id_of(http, "new-party");  // as the extension: before the JOIN
  ASSERT_FALSE(id.empty());
  const std::int64_t joined_at = now_ms();
  auto alice = joined("new-party", "alice");
  std::optional<std::int64_t> expiry;
  ASSERT_TRUE(eventually([&] {
    expiry = recorded_expiry(data.path(), id);
    return expiry && *expiry >= joined_at + kFullTtlMs;
  }, 10s)) << "recorded expiry " << expiry.value_or(-1);
  std::this_thread::sleep_for(1500ms);  // past the pending TTL: the promotion is what keeps it
  EXPECT_EQ(resolve_status(server.port(), id), 200);
  EXPECT_EQ(short_id_of(http, "new-party"), id);
}

TEST_F(BoundsTest, AFullTableEvictsIdsOfAbsentRoomsFirst) {
  auto& server = start_server({{"SHORT_ID_MAX_PENDING", "3"}});
  auto alice = joined("real-room", "alice");
  HttpConnection http;
  http.connect(server.port());
  const std::string real = short_id_of(http, "real-room");
  std::vector<std::string> ghosts;
  for (int i = 0; i < 4; ++i) ghosts.push_back(short_id_of(http, "ghost-" + std::to_string(i)));
  // Three fit; the fourth evicted the one that expires first.
  EXPECT_EQ(resolve_status(server.port(), ghosts[0]), 404);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(resolve_status(server.port(), ghosts[i]), 200) << i;
  EXPECT_EQ(metric("tandem_short_ids_evicted_total"), 1);
  // However many more, the live room's id is never evicted, and every request is served.
  for (int i = 4; i < 40; ++i) ASSERT_FALSE(short_id_of(http, "ghost-" + std::to_string(i)).empty());
  EXPECT_EQ(resolve_status(server.port(), real), 200);
  EXPECT_EQ(short_id_of(http, "real-room"), real);
  EXPECT_EQ(metric("tandem_short_ids_evicted_total"), 37);
  EXPECT_EQ(metric("tandem_short_ids_refused_total", {{"reason", "rate_limited"}}), 0);
}

// /status without ?roomId= is a page: the default 100 rooms, in roomId order, with the
// total and a cursor; following the cursors lists every room exactly once.
TEST_F(BoundsTest, StatusListsAPageAtATime) {
  start_server({{"ROOM_MAX_NEW_PER_ADDRESS", "200"}});  // 130 rooms from this address
  constexpr int kRooms = 130;
  std::vector<std::unique_ptr<WsClient>> clients;
  std::vector<std::string> ids;
  for (int i = 0; i < kRooms; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "room-%03d", (i * 37) % kRooms);  // joined out of order
    ids.emplace_back(name);
    clients.push_back(joined(name, "user"));
  }
  std::sort(ids.begin(), ids.end());

  const json::object first = status();
  const json::array& rooms = arr(first, "rooms");
  ASSERT_EQ(rooms.size(), 100u);
  EXPECT_EQ(num(first, "totalRooms"), kRooms);
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    EXPECT_EQ(str(rooms[i].as_object(), "roomId"), ids[i]);
  }
  EXPECT_EQ(str(first, "nextCursor"), ids[99]);
  const json::object second = http_get(port(), "/status?cursor=" + ids[99]).json_object();
  ASSERT_EQ(arr(second, "rooms").size(), 30u) << json::serialize(second);
  EXPECT_EQ(str(arr(second, "rooms")[0].as_object(), "roomId"), ids[100]);
  EXPECT_TRUE(is_null(second, "nextCursor"));

  // Small pages: every room once, in order, within a bounded number of requests.
  std::vector<std::string> listed;
  std::string cursor;
  for (int request = 0; request < 40; ++request) {
    const json::object page =
        http_get(port(), "/status?limit=7" + (cursor.empty() ? "" : "&cursor=" + cursor)).json_object();
    ASSERT_LE(arr(page, "rooms").size(), 7u);
    for (const auto& room : arr(page, "rooms")) listed.push_back(str(room.as_object(), "roomId"));
    if (is_null(page, "nextCursor")) break;
    cursor = str(page, "nextCursor");
  }
  EXPECT_EQ(listed, ids);

  const json::object big = http_get(port(), "/status?limit=1000").json_object();
  EXPECT_EQ(arr(big, "rooms").size(), static_cast<std::size_t>(kRooms));
  for (const char* bad : {"/status?limit=0", "/status?limit=1001", "/status?limit=x",
                          "/status?cursor=bad!id"}) {
    EXPECT_EQ(http_get(port(), bad).status, 400) << bad;
  }
  // ?roomId= is as it was: that room, no paging fields.
  const json::object one = status(ids[5]);
  ASSERT_EQ(arr(one, "rooms").size(), 1u);
  EXPECT_EQ(str(arr(one, "rooms")[0].as_object(), "roomId"), ids[5]);
  EXPECT_FALSE(one.contains("nextCursor"));
  EXPECT_FALSE(one.contains("totalRooms"));
}

}  // namespace
}  // namespace tandem::test
