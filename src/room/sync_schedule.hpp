#pragma once
// Scheduled playback (docs/SYNC.md): when the room starts playing, members that announced
// scheduledPlayback all start at one server instant, `lead` after the decision, so the
// message reaches even the slowest of them before it is due. Pure.
#include "protocol/event.hpp"
#include "room/room_state.hpp"

namespace tandem::room {

struct SyncConfig {
  Millis lead_margin = 100;  // over the slowest member's one-way delay: jitter, the
                             // server's own delivery, the page's timer and decoder
  Millis lead_min = 50;
  Millis lead_max = 1000;    // a member slower than this starts late and catches up
  // A position report older than this says nothing about the room's sync any more.
  Millis report_fresh_for = 3000;
};

// How far ahead of `now` a start is scheduled: the largest one-way delay (half the round
// trip the server measured) among connected members with scheduledPlayback, plus the
// margin, within [lead_min, lead_max]. 0 when no connected member has the capability: no
// client would wait, and the room keeps starting at once as it always did.
Millis choose_lead(const RoomState& state, const SyncConfig& config) noexcept;

// The room's playback as scheduledPlayback members follow it: paused at current_time, or
// playing from current_time at server time position_at (which may lie ahead: a start not
// yet due). RoomState::position(at) is where it is at any server instant.
protocol::Timeline timeline_of(const RoomState& state) noexcept;

}  // namespace tandem::room
