#pragma once
// What a starting server gets back: live rooms and short ids. Called once at start,
// before the Journal is constructed over the same store.
//
// The database may be behind: entries still in a spill file left by the previous run
// (written while the database was down, or at a shutdown that could not reach it) are
// newer than its rows. So the rooms and short ids read from the database are overlaid
// with that file's unwritten entries (a snapshot replaces its room, an archive removes
// it, a short id replaces that room's short id). The file itself is left for the Journal,
// which replays it into the database.
#include "store/store.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tandem::store {

struct Restored {
  std::vector<RoomSnapshot> rooms;         // by room id
  std::vector<ShortIdRecord> short_ids;    // unexpired, by short id
  std::vector<std::string> archived_idle;  // archived now: idle longer than the room TTL
  std::size_t spilled_entries = 0;         // unwritten entries found in the spill file
};

// Migrates, archives the rooms idle longer than `room_ttl_ms` (0: none), loads the live
// rooms and short ids, and overlays the spill file at `spill_path` (if any). Rooms whose
// last snapshot is older than the TTL are not returned. Throws StoreError.
Restored restore(Store& store, const std::filesystem::path& spill_path, Millis now,
                 Millis room_ttl_ms);

}  // namespace tandem::store
