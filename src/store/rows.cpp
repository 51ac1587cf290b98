#include "store/rows.hpp"

#include "room/room_codec.hpp"

namespace tandem::store {

RoomRow room_row(const RoomSnapshot& snapshot) {
  const room::RoomState& s = snapshot.state;
  RoomRow row;
  row.id = s.id;
  row.host_user_id = null_if_empty(s.host_user_id);
  row.current_url = null_if_empty(s.url);
  row.current_time = s.position(snapshot.at);
  row.is_playing = s.is_playing;
  row.guest_control_enabled = s.guest_control_enabled;
  row.pin_hash = null_if_empty(s.pin_hash);
  row.state = room::to_json_string(s);
  row.created_at = s.created_at != 0 ? s.created_at : snapshot.at;
  row.updated_at = snapshot.at;
  row.version = s.version;
  return row;
}

std::vector<UserRow> user_rows(const room::RoomState& state) {
  std::vector<UserRow> rows;
  rows.reserve(state.members.size());
  for (const auto& m : state.members) {
    UserRow row;
    row.id = m.user_id;
    row.username = m.username;
    row.current_time = m.current_time;
    row.is_playing = m.is_playing;
    row.connection_quality = m.connected ? "connected" : "disconnected";
    if (m.last_heartbeat != 0) row.last_heartbeat = m.last_heartbeat;
    rows.push_back(std::move(row));
  }
  return rows;
}

RoomSnapshot snapshot_from_row(const RoomRow& row) {
  if (auto state = room::room_state_from_json(row.state); state && state->id == row.id) {
    return RoomSnapshot{std::move(*state), row.updated_at};
  }
  room::RoomState s;
  s.id = row.id;
  s.host_user_id = row.host_user_id.value_or("");
  s.url = row.current_url.value_or("");
  s.current_time = row.current_time;
  s.position_at = row.updated_at;
  s.is_playing = row.is_playing;
  s.guest_control_enabled = row.guest_control_enabled;
  s.pin_hash = row.pin_hash.value_or("");
  s.created_at = row.created_at;
  s.updated_at = row.updated_at;
  return RoomSnapshot{std::move(s), row.updated_at};
}

}  // namespace tandem::store
