#pragma once
// One room as GET /status shows it (PROTOCOL.md), the same for either Rooms implementation.
#include "room/room_state.hpp"

#include <boost/json/object.hpp>

namespace tandem::cluster {

boost::json::object describe_room(const room::RoomState& state, protocol::Millis now);

}  // namespace tandem::cluster
