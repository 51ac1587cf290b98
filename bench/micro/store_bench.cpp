// The durable record's cost per audit row: SqliteStore::write_batch of PLAY_PAUSE audit
// events (what the journal writer does for every PLAY_PAUSE), in batches of the size the
// writer commits at ~5,000 PLAY_PAUSE/s with its 25 ms flush interval. A real database file
// in a temp directory (WAL, synchronous=NORMAL, as the server opens it).
#include "store/sqlite_store.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace tandem;

void BM_SqliteAuditBatch(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tandem-store-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    store::SqliteStore db(dir);
    db.migrate();
    std::int64_t at = 1764254420000;
    for (auto _ : state) {
      std::vector<store::JournalEntry> batch;
      batch.reserve(rows);
      for (std::size_t i = 0; i < rows; ++i) {
        batch.emplace_back(store::AuditEvent{
            "room-" + std::to_string(i % 100), "PLAY_PAUSE", "user-" + std::to_string(i % 10),
            boost::json::object{{"control", "play"}, {"currentTime", 734.5}}, ++at});
      }
      db.write_batch(batch);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows));
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteAuditBatch)->Arg(1)->Arg(125)->Unit(benchmark::kMicrosecond);

}  // namespace
