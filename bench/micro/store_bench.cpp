// The durable record's cost per audit row: SqliteStore::write_batch of PLAY_PAUSE audit
// events (what the journal writer does for every PLAY_PAUSE), in batches of the size the
// writer commits at ~5,000 PLAY_PAUSE/s with its 25 ms flush interval; and per room
// snapshot (a PLAY_PAUSE changed each room of 10 since its last snapshot), with the room's
// JSON serialization on its own. A real database file in a temp directory (WAL,
// synchronous=NORMAL, as the server opens it).
#include "room/room_codec.hpp"
#include "store/sqlite_store.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace tandem;

// A fresh directory for one benchmark's database file, removed afterwards.
struct ScratchDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("tandem-store-bench-" + std::to_string(::getpid()));
  ScratchDir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

void BM_SqliteAuditBatch(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const ScratchDir dir;
  {
    store::SqliteStore db(dir.path);
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
}
BENCHMARK(BM_SqliteAuditBatch)->Arg(1)->Arg(125)->Unit(benchmark::kMicrosecond);

// A room of 10 as the journal sees it after a few minutes of playback.
room::RoomState room_of_10(std::size_t index) {
  room::RoomState s;
  s.id = "movie-night-" + std::to_string(index);
  s.host_user_id = "user_0";
  s.url = "https://www.netflix.com/watch/81234567?trackId=14170286";
  s.current_time = 734.52;
  s.position_at = 1764254420331;
  s.is_playing = true;
  for (int i = 0; i < 10; ++i) {
    room::Member m;
    m.user_id = "user_" + std::to_string(i);
    m.username = "Viewer " + std::to_string(i);
    m.join_seq = static_cast<std::uint64_t>(i + 1);
    m.peer_id = "3f2b8c1e-5d4a-4e6b-9c7d-0a1b2c3d4e" + std::to_string(10 + i);
    m.node_id = "node-1";
    m.last_heartbeat = 1764254419000 + i;
    m.current_time = 733.9 + i * 0.01;
    m.is_playing = true;
    m.joined_at = 1764254400000 + i;
    s.members.push_back(std::move(m));
  }
  s.next_seq = 11;
  s.created_at = 1764254400000;
  s.updated_at = 1764254420331;
  s.version = 42;
  return s;
}

void BM_RoomStateToJson10(benchmark::State& state) {
  const room::RoomState room = room_of_10(0);
  for (auto _ : state) benchmark::DoNotOptimize(room::to_json_string(room));
}
BENCHMARK(BM_RoomStateToJson10);

// One batch holds a snapshot of each of N rooms, each after one more PLAY_PAUSE (a new
// version and position; no member changed, so no users rows are written after the first).
void BM_SqliteSnapshotBatch(benchmark::State& state) {
  const auto rooms = static_cast<std::size_t>(state.range(0));
  const ScratchDir dir;
  {
    store::SqliteStore db(dir.path);
    db.migrate();
    std::vector<room::RoomState> states;
    for (std::size_t i = 0; i < rooms; ++i) states.push_back(room_of_10(i));
    std::int64_t at = 1764254420331;
    for (auto _ : state) {
      std::vector<store::JournalEntry> batch;
      batch.reserve(rooms);
      ++at;
      for (auto& s : states) {
        ++s.version;
        s.is_playing = !s.is_playing;
        s.position_at = at;
        s.updated_at = at;
        batch.emplace_back(store::RoomSnapshot{s, at});
      }
      db.write_batch(batch);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rooms));
  }
}
BENCHMARK(BM_SqliteSnapshotBatch)->Arg(25)->Unit(benchmark::kMicrosecond);

}  // namespace
