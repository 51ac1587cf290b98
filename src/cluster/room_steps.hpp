#pragma once
// The steps both runtimes (LocalRooms, standalone; RedisRooms, cluster) take on a room,
// written once. Pure: each takes the machine, the room's state and `now`, and returns the
// step's Effects; the runtime carries them out (in memory at once, or through its Redis
// commit). A behaviour that differs between the modes is a bug unless DESIGN.md or
// PROTOCOL.md says otherwise (docs/ARCHITECTURE.md, "One room runtime").
#include "cluster/pin_lockout.hpp"
#include "cluster/rooms.hpp"
#include "room/room_machine.hpp"

#include <functional>
#include <optional>
#include <string_view>

namespace tandem::cluster {

// A command the node answers itself, joined or not, without touching the room: PING (it
// proves only that the connection is alive, which the node tracks). nullopt: the room's.
std::optional<protocol::Event> node_answer(const protocol::Command& command);

// The answer to a room command from a connection that joined no room.
protocol::ErrorEvent not_joined_error();

// The answer to a JOIN that would create a room its address may not create yet.
protocol::ErrorEvent new_room_refused_error(protocol::Millis wait);

// A JOIN that passed (or needed no) PIN lockout check: the lockout's verdict carried out.
// refuse: ERROR PIN_LOCKED to the sender, the room unchanged; delay: nothing now (the
// runtime re-submits the JOIN after the wait); admit: the machine's JOIN.
room::Effects join_step(const room::RoomMachine& machine, room::RoomState& state,
                        const room::Actor& actor, const protocol::Command& join,
                        const PinVerdict& verdict, protocol::Millis now);

// The connection `peer_id` of member `user_id` closed: a network drop (or a drain) keeps
// the member within its grace; a stale connection's member is removed at once (only if
// the member is still that connection's).
room::Effects close_step(const room::RoomMachine& machine, room::RoomState& state,
                         std::string_view user_id, std::string_view peer_id, CloseKind kind,
                         protocol::Millis now);

// A connection joined another room (or identity): its old membership ends, if the member
// is still that connection's (a newer connection of the same user keeps it).
room::Effects leave_previous_step(const room::RoomMachine& machine, room::RoomState& state,
                                  std::string_view user_id, std::string_view peer_id,
                                  protocol::Millis now);

// A room back from the durable record (a restart, or Redis lost it): every member comes
// back as disconnected within a fresh grace period (as a short network drop looks to its
// clients), except the connections `bound_here` says are live on this node.
room::Effects restore_members_step(const room::RoomMachine& machine, room::RoomState& state,
                                   const std::function<bool(std::string_view peer_id)>& bound_here,
                                   protocol::Millis now);

// The PIN_LOCKOUT audit row of a wrong PIN that locked `scope` (journaled by the node that
// counted the failure, after the JOIN's own PIN_FAILED row, in both modes).
room::Record pin_lockout_record(std::string_view user_id, std::string_view address,
                                PinScope scope);

// Appends `from` (a later step of the same transition) to `into`.
void merge(room::Effects& into, room::Effects&& from);

}  // namespace tandem::cluster
