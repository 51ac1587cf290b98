#pragma once
// One room as GET /status shows it (PROTOCOL.md), the same for either Rooms implementation.
#include "room/room_state.hpp"
#include "room/sync_schedule.hpp"

#include <boost/json/object.hpp>

namespace tandem::cluster {

boost::json::object describe_room(
    const room::RoomState& state, protocol::Millis now,
    protocol::Millis report_fresh_for = room::SyncConfig{}.report_fresh_for);

// What GET /status shows of a described room to a caller without the admin view
// (docs/SECURITY.md, "Who can learn what"): the roomId and the counts, no identity, position
// or URL. `users` keeps one empty object per member: the shipped extension reads its length.
// The one place that decides which fields are public, for both modes.
boost::json::object public_room_view(const boost::json::object& described);

}  // namespace tandem::cluster
