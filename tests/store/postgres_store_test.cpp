// PostgresStore against a real PostgreSQL 15 that is stopped and started under it.
#include "obs/metrics.hpp"
#include "store/journal.hpp"
#include "store/store_backends.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <atomic>

namespace tandem::store {
namespace {

using namespace test_util;
using Clock = std::chrono::steady_clock;

std::int64_t seq_in(const std::string& data_json) {
  return boost::json::parse(data_json).at("seq").to_number<std::int64_t>();
}

TEST(PostgresStore, FailsWithStoreErrorWhileTheServerIsDownAndRecoversAfterARestart) {
  test::PostgresServer server;
  const auto conninfo = server.create_database();
  PostgresStore store(conninfo);
  store.migrate();
  store.write_batch({audit("r", 1)});

  server.stop();
  try {
    store.write_batch({audit("r", 2)});
    FAIL() << "wrote to a stopped server";
  } catch (const StoreError& e) {
    EXPECT_TRUE(e.transient()) << e.what();
  }
  EXPECT_THROW(store.room_events("r", 10), StoreError);
  EXPECT_THROW(store.load_live_rooms(), StoreError);
  EXPECT_THROW(store.migrate(), StoreError);

  server.start();
  store.write_batch({audit("r", 3)});  // reconnects
  const auto events = store.room_events("r", 10);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(seq_in(events[0].data_json), 3);
  EXPECT_EQ(seq_in(events[1].data_json), 1);
}

TEST(PostgresStore, AConnectionThatDiedWhileIdleIsReplacedWithoutAnError) {
  test::PostgresServer server;
  PostgresStore store(server.create_database());
  store.migrate();
  store.write_batch({audit("r", 1)});
  server.stop();
  server.start();
  // The old connection is dead; the first call notices at BEGIN and reconnects.
  EXPECT_NO_THROW(store.write_batch({audit("r", 2)}));
  EXPECT_EQ(store.room_events("r", 10).size(), 2U);
  // The same for a read (the events API after a database restart).
  server.stop();
  server.start();
  std::vector<StoredEvent> events;
  EXPECT_NO_THROW(events = store.room_events("r", 10));
  EXPECT_EQ(events.size(), 2U);
}

TEST(PostgresStore, AJournalLosesNothingAcrossAnOutageUnderSteadyTraffic) {
  test::PostgresServer server;
  const auto conninfo = server.create_database();
  TempDir dir;
  obs::Registry registry;
  LogCapture log;
  JournalOptions options;
  options.spill_path = dir.path() / "journal.spill";
  options.retry_initial = std::chrono::milliseconds(50);
  options.retry_max = std::chrono::milliseconds(400);
  options.maintenance.events_retention_days = 0;
  options.maintenance.room_ttl_ms = 0;
  Journal journal(std::make_unique<PostgresStore>(conninfo), options, registry, log.logger());

  constexpr std::int64_t kTotal = 2500;  // one every 2 ms: about 5 s
  std::atomic<std::int64_t> sent{0};
  std::thread producer([&] {
    for (std::int64_t i = 0; i < kTotal; ++i) {
      journal.append(audit("room", i));
      if (i % 50 == 0) journal.append(snapshot("room", static_cast<std::uint64_t>(i)));
      sent = i + 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  ASSERT_TRUE(eventually([&] { return sent >= 500; }, 30s));
  server.stop();
  const auto stopped_at = Clock::now();
  const std::int64_t sent_at_stop = sent;
  // About 2.5 s of traffic while the database is down.
  EXPECT_TRUE(eventually([&] { return sent >= sent_at_stop + 1250; }, 30s));
  EXPECT_EQ(registry.sample("tandem_store_up"), 0) << log.text();
  server.start();
  const auto outage = Clock::now() - stopped_at;
  producer.join();
  const auto result = journal.flush(Clock::now() + 30s);
  EXPECT_TRUE(result.complete);

  EXPECT_GE(outage, 2s);
  const auto rows = test::PostgresServer::query(
      conninfo, "SELECT id, data FROM room_events WHERE room_id = 'room' ORDER BY id");
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kTotal)) << log.text();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(seq_in(*rows[i][1]), static_cast<std::int64_t>(i)) << "row " << i;
  }
  const auto rooms = PostgresStore(conninfo).load_live_rooms();
  ASSERT_EQ(rooms.size(), 1U);
  EXPECT_EQ(rooms[0].state.version, static_cast<std::uint64_t>((kTotal - 1) / 50 * 50));
  EXPECT_EQ(log.count("store_unavailable"), 1U) << log.text();
  EXPECT_EQ(log.count("store_recovered"), 1U) << log.text();
  EXPECT_GT(registry.sample("tandem_journal_spilled_total"), 0) << "spilled during the outage";
  EXPECT_FALSE(std::filesystem::exists(options.spill_path));
  EXPECT_EQ(registry.sample("tandem_journal_backlog"), 0);
}

}  // namespace
}  // namespace tandem::store
