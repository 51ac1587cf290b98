#include "store/restore.hpp"

#include "store/entry_codec.hpp"
#include "store/overloaded.hpp"
#include "store/spill_file.hpp"

#include <algorithm>
#include <limits>
#include <map>

namespace tandem::store {
namespace {

}  // namespace

Restored restore(Store& store, const std::filesystem::path& spill_path, Millis now,
                 Millis room_ttl_ms) {
  Restored out;
  store.migrate();
  if (room_ttl_ms > 0) out.archived_idle = store.archive_idle_rooms(now - room_ttl_ms, now);

  std::map<std::string, RoomSnapshot> rooms;
  for (auto& snapshot : store.load_live_rooms()) {
    auto id = snapshot.state.id;
    rooms.insert_or_assign(std::move(id), std::move(snapshot));
  }
  std::map<std::string, ShortIdRecord> short_by_room;
  for (auto& record : store.load_short_ids(now)) {
    auto room = record.room_id;
    short_by_room.insert_or_assign(std::move(room), std::move(record));
  }

  SpillFile spill(spill_path, std::numeric_limits<std::uint64_t>::max());
  if (spill.recover().lines > 0) {
    std::uint64_t offset = spill.committed();
    const std::uint64_t end = spill.end();
    while (offset < end) {
      std::vector<std::string> lines;
      std::uint64_t next = offset;
      if (!spill.read(offset, end, 1000, lines, next) || lines.empty()) break;
      offset = next;
      for (const auto& line : lines) {
        auto entry = decode_entry(line);
        if (!entry) continue;
        ++out.spilled_entries;
        std::visit(Overloaded{
                       [&](RoomSnapshot& e) {
                         auto id = e.state.id;
                         rooms.insert_or_assign(std::move(id), std::move(e));
                       },
                       [&](RoomArchived& e) { rooms.erase(e.room_id); },
                       [&](AuditEvent&) {},
                       [&](ShortIdRecord& e) {
                         auto room = e.room_id;
                         short_by_room.insert_or_assign(std::move(room), std::move(e));
                       },
                   },
                   *entry);
      }
    }
  }

  for (auto& [id, snapshot] : rooms) {
    if (room_ttl_ms > 0 && snapshot.at < now - room_ttl_ms) continue;
    out.rooms.push_back(std::move(snapshot));
  }
  for (auto& [room, record] : short_by_room) {
    if (record.expires_at > now) out.short_ids.push_back(std::move(record));
  }
  std::sort(out.short_ids.begin(), out.short_ids.end(),
            [](const ShortIdRecord& a, const ShortIdRecord& b) { return a.short_id < b.short_id; });
  return out;
}

}  // namespace tandem::store
