#include "room/sync_schedule.hpp"

#include <algorithm>

namespace tandem::room {

Millis choose_lead(const RoomState& state, const SyncConfig& config) noexcept {
  bool any = false;
  double slowest_one_way = 0;
  for (const Member& m : state.members) {
    if (!m.connected || (m.capabilities & protocol::kScheduledPlayback) == 0) continue;
    any = true;
    // A member not measured yet (rtt 0) adds nothing: the margin covers a fast network,
    // and its own correction a slow one.
    slowest_one_way = std::max(slowest_one_way, m.rtt_ms / 2);
  }
  if (!any) return 0;
  const auto lead = static_cast<Millis>(slowest_one_way + 0.5) + config.lead_margin;
  return std::clamp(lead, config.lead_min, config.lead_max);
}

protocol::Timeline timeline_of(const RoomState& state) noexcept {
  return protocol::Timeline{state.current_time, state.is_playing,
                            state.is_playing ? state.position_at : Millis{0}};
}

}  // namespace tandem::room
