#pragma once
// RoomState <-> JSON, lossless: every field of the room, its members and its ready gate.
// The durable record keeps this text as the room's snapshot (rooms.state) and restores
// rooms from it at start. Pure: no IO.
//
// Format (version 1), snake_case keys named after the struct fields:
//   {"v":1,"id":..,"host_user_id":..,"url":..,"current_time":..,"position_at":..,
//    "is_playing":..,"guest_control_enabled":..,"pin_hash":..,"next_seq":..,
//    "created_at":..,"updated_at":..,"version":..,
//    "members":[{"user_id":..,"username":null|"..","join_seq":..,"peer_id":..,
//                "node_id":..,"connected":..,"disconnected_at":..,"last_heartbeat":..,
//                "current_time":..,"is_playing":..,"joined_at":..,
//                "capabilities":[..],"rtt_ms":..,"position_sampled_at":..}, ...],
//    "gate":null|{"id":..,"opened_by":..,"expected":..,"quorum":..,"target":..,
//                 "desired_play":..,"ready":[..],"opened_at":..,"deadline":..}}
// Reading validates every type and range; a missing field, a wrong type or another "v"
// gives nullopt. Keys it does not know are ignored (a newer writer may add fields). The
// member's last three fields came later: absent (a snapshot written before them) they read
// as their defaults, and capability names this build does not know are dropped.
#include "room/room_state.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tandem::room {

inline constexpr std::int64_t kRoomCodecVersion = 1;

boost::json::object to_json(const RoomState& state);
std::string to_json_string(const RoomState& state);

std::optional<RoomState> room_state_from_json(const boost::json::value& value);
std::optional<RoomState> room_state_from_json(std::string_view text);

}  // namespace tandem::room
