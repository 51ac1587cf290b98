#pragma once
// Turns a room transition's Effects into the ClusterMessage a node publishes: each
// delivery's audience resolved to a channel target, its frames encoded once (a broadcast
// with one variant per capability set among the room's connected members), the closes.
// Pure: no IO.
#include "cluster/cluster_message.hpp"
#include "protocol/event.hpp"
#include "room/effects.hpp"
#include "room/room_state.hpp"

#include <string>

namespace tandem::cluster {

// `state`: the room after the transition (targets of Audience::user are looked up there);
// `sender_peer`: who sent the command ("" for none: Audience::sender deliveries drop).
ClusterMessage transition_message(const room::RoomState& state, const room::Effects& effects,
                                  const std::string& sender_peer, protocol::Millis now,
                                  const std::string& node_id);

}  // namespace tandem::cluster
