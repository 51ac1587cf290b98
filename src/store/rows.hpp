#pragma once
// How records map to table rows, shared by both stores (the logical schema is one):
// empty strings are stored as NULL, rooms.current_time is the playback position as of
// updated_at, users.connection_quality is 'connected' or 'disconnected' (a member inside
// its reconnect grace period), and rooms.state is the lossless room snapshot
// (room/room_codec.hpp) from which a room is restored.
#include "store/records.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tandem::store {

struct RoomRow {
  std::string id;
  std::optional<std::string> host_user_id;
  std::optional<std::string> current_url;
  double current_time = 0;
  bool is_playing = false;
  bool guest_control_enabled = false;
  std::optional<std::string> pin_hash;
  std::string state;  // JSON
  Millis created_at = 0;
  Millis updated_at = 0;
  std::uint64_t version = 0;  // the state's; SQLite compares it in a column of its own
};

struct UserRow {
  std::string id;
  std::optional<std::string> username;
  double current_time = 0;
  bool is_playing = false;
  std::string connection_quality;
  std::optional<Millis> last_heartbeat;

  bool operator==(const UserRow&) const = default;
};

RoomRow room_row(const RoomSnapshot& snapshot);
std::vector<UserRow> user_rows(const room::RoomState& state);

// The snapshot a rooms row restores: its state JSON, or, should that be unreadable, the
// room rebuilt from the row's columns (without members or gate).
RoomSnapshot snapshot_from_row(const RoomRow& row);

inline std::optional<std::string> null_if_empty(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return text;
}

}  // namespace tandem::store
