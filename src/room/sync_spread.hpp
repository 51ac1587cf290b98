#pragma once
// How in sync a room is, from its members' timed position reports (POSITION_UPDATE with
// sampledAt, docs/SYNC.md). Each report is compared with where the room's timeline was at
// the report's own server instant: that offset is what the member's player was ahead (+) or
// behind (-). Comparing offsets is comparing the positions projected to one instant along
// the timeline. The reports live in the room state, so this is the same on any node. Pure.
#include "room/room_state.hpp"

#include <optional>

namespace tandem::room {

// The member's offset from the timeline in seconds, or nullopt without a usable report: the
// member is disconnected, never sent a timed one, sent it before the timeline last changed
// (a play, pause or seek since makes it meaningless), or longer than `fresh_for` ago.
std::optional<double> timeline_offset(const RoomState& state, const Member& member, Millis now,
                                      Millis fresh_for) noexcept;

// max - min of the offsets of the members that have one, when at least two do.
std::optional<double> sync_spread(const RoomState& state, Millis now, Millis fresh_for) noexcept;

}  // namespace tandem::room
