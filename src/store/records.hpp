#pragma once
// What the durable record holds, as plain data: the rows the journal writes and the
// snapshots restored at start. The schema (docs/STORAGE.md) is the old server's rooms /
// users / room_events tables, extended.
#include "room/room_state.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tandem::store {

using protocol::Millis;

// The latest state of a live room (rooms row + its users rows + the full snapshot used to
// restore it). Coalesced: only the newest snapshot of a room in a batch is written.
struct RoomSnapshot {
  room::RoomState state;
  Millis at = 0;

  bool operator==(const RoomSnapshot&) const = default;
};

// The room emptied: rooms.archived_at set, its users rows deleted.
struct RoomArchived {
  std::string room_id;
  Millis at = 0;

  bool operator==(const RoomArchived&) const = default;
};

// One audit-log row (room_events). Written in order, never coalesced.
struct AuditEvent {
  std::string room_id;
  std::string event_type;
  std::string user_id;  // "" -> NULL
  boost::json::object data;
  Millis at = 0;

  bool operator==(const AuditEvent&) const = default;
};

// A short id issued or refreshed (so share links survive a restart).
struct ShortIdRecord {
  std::string short_id;
  std::string room_id;
  Millis expires_at = 0;

  bool operator==(const ShortIdRecord&) const = default;
};

using JournalEntry = std::variant<RoomSnapshot, RoomArchived, AuditEvent, ShortIdRecord>;

// What the events API returns (newest first).
struct StoredEvent {
  std::int64_t id = 0;
  std::string room_id;
  std::string event_type;
  std::string user_id;
  std::string data_json;
  Millis created_at = 0;

  bool operator==(const StoredEvent&) const = default;
};

}  // namespace tandem::store
