#pragma once
// One room as GET /status shows it (PROTOCOL.md), the same for either Rooms implementation.
#include "room/room_state.hpp"
#include "room/sync_schedule.hpp"

#include <boost/json/object.hpp>

namespace tandem::cluster {

boost::json::object describe_room(
    const room::RoomState& state, protocol::Millis now,
    protocol::Millis report_fresh_for = room::SyncConfig{}.report_fresh_for);

}  // namespace tandem::cluster
