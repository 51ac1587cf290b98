#include "room/sync_spread.hpp"

#include <algorithm>

namespace tandem::room {

std::optional<double> timeline_offset(const RoomState& state, const Member& member, Millis now,
                                      Millis fresh_for) noexcept {
  const Millis sampled = member.position_sampled_at;
  if (!member.connected || sampled <= 0 || sampled < state.position_at ||
      now - sampled > fresh_for) {
    return std::nullopt;
  }
  return member.current_time - state.position(sampled);
}

std::optional<double> sync_spread(const RoomState& state, Millis now, Millis fresh_for) noexcept {
  std::size_t counted = 0;
  double lowest = 0;
  double highest = 0;
  for (const Member& m : state.members) {
    const std::optional<double> offset = timeline_offset(state, m, now, fresh_for);
    if (!offset) continue;
    lowest = counted == 0 ? *offset : std::min(lowest, *offset);
    highest = counted == 0 ? *offset : std::max(highest, *offset);
    ++counted;
  }
  if (counted < 2) return std::nullopt;
  return highest - lowest;
}

}  // namespace tandem::room
