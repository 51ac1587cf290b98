#pragma once
// One operation on a room in cluster mode: a transition computed from the room's current
// snapshot, with what the node does around it. RedisRoomQueue runs them, one room's in
// arrival order; RedisRooms makes them (commands, disconnects, timers, sweeps, reaping).
#include "cluster/rooms.hpp"
#include "room/effects.hpp"
#include "room/room_state.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace tandem::cluster {

// How often an internal operation is retried while Redis is unreachable (1 s apart).
inline constexpr int kInternalRetries = 120;

struct RoomOp {
  // The transition, computed on a copy of the current snapshot (a state without members
  // is a room that does not exist yet).
  std::function<room::Effects(room::RoomState& state, protocol::Millis now)> apply;
  std::optional<ConnectionInfo> sender;  // commands: who asked (its errors, its deliveries)
  // After the transition is in Redis (or needed no change): local bookkeeping.
  std::function<void(const room::RoomState& next, const room::Effects& effects)> done;
  // Given up (after the error to the sender, or after the last retry).
  std::function<void()> failed;
  // Runs once before the first attempt (e.g. a JOIN's lockout check); false fails the op.
  std::function<void(std::function<void(bool ok)>)> prepare;
  bool internal = false;     // no client waits: retried while Redis is unreachable
  bool recreated = false;    // this transition re-creates a room Redis had lost
  bool may_recreate = true;  // false: a check that must not bring a lost room back
  bool batchable = true;     // may share one commit with the operations queued with it
  // A leader's followers: applied after it, in queue order, committed together with it.
  std::vector<std::shared_ptr<RoomOp>> batch;
  room::Effects effects;  // this operation's own effects in the current attempt
  int attempts = 0;       // CAS conflicts met so far
  int retries_left = kInternalRetries;
  // Redis lost the room and the durable record had it: the base to re-create it from.
  std::optional<room::RoomState> from_record;
  bool record_checked = false;
};

using RoomOpPtr = std::shared_ptr<RoomOp>;

}  // namespace tandem::cluster
