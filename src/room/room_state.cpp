#include "room/room_state.hpp"

#include <algorithm>

namespace tandem::room {

const Member* RoomState::find_member(std::string_view user_id) const noexcept {
  const auto it = std::find_if(members.begin(), members.end(),
                               [&](const Member& m) { return m.user_id == user_id; });
  return it == members.end() ? nullptr : &*it;
}

Member* RoomState::find_member(std::string_view user_id) noexcept {
  const auto it = std::find_if(members.begin(), members.end(),
                               [&](const Member& m) { return m.user_id == user_id; });
  return it == members.end() ? nullptr : &*it;
}

std::size_t RoomState::connected_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(members.begin(), members.end(), [](const Member& m) { return m.connected; }));
}

double RoomState::position(Millis now) const noexcept {
  if (!is_playing) return current_time;
  // Extrapolate from the last known position; the wall clock is in ms, positions in s.
  // Nodes' clocks differ a little: a `now` before position_at must not rewind playback.
  const Millis elapsed = now > position_at ? now - position_at : 0;
  return current_time + static_cast<double>(elapsed) / 1000.0;
}

}  // namespace tandem::room
