#pragma once
// The room state machine: the only place that decides anything about rooms (host
// election, guest control, PIN check, ready gate, grace period). Deterministic and
// IO-free: (RoomState, input, now) -> (RoomState', Effects).
#include "protocol/command.hpp"
#include "room/effects.hpp"
#include "room/pin_hasher.hpp"
#include "room/room_state.hpp"
#include "room/sync_schedule.hpp"

#include <string_view>

namespace tandem::room {

struct RoomConfig {
  Millis reconnect_grace = 10'000;  // 0 = a dropped connection leaves at once
  Millis gate_timeout = 7'000;
  double gate_quorum = 0.6;         // fraction of expected members whose READY closes the gate
  SyncConfig sync;                  // scheduled starts and sync measurement (docs/SYNC.md)
};

// Who sent a command: the identity its connection joined with (for JOIN: the JOIN's own
// userId), the connection's peer id, the node holding that connection, and the client's
// address (audited with a wrong PIN; PIN rooms keep their members' last one).
struct Actor {
  std::string_view user_id;
  std::string_view peer_id;
  std::string_view node_id;
  std::string_view address = {};
};

enum class LeaveReason {
  left,           // explicit LEAVE, or the connection moved to another room
  grace_expired,  // disconnected and did not come back within the grace period
  stale,          // no message for 2 x heartbeat timeout
  node_dead,      // its node stopped refreshing its liveness key (cluster)
};

class RoomMachine {
 public:
  RoomMachine(RoomConfig config, const PinHasher& hasher) : config_(config), hasher_(hasher) {}

  // Any command from a member (or a JOIN from anyone). A state with no members and an id
  // is a room about to be created: a JOIN makes the joiner its host (a pin protects it).
  Effects apply(RoomState& state, const Actor& actor, const protocol::Command& command,
                Millis now) const;

  // The member's connection `peer_id` closed without LEAVE. A close of a connection that
  // is no longer the member's (it re-joined elsewhere) changes nothing. With a grace
  // period the member stays (host included) and a grace timer is requested; without, it
  // leaves now.
  Effects disconnect(RoomState& state, std::string_view user_id, std::string_view peer_id,
                     Millis now) const;

  // Removes a member as if it left (explicit LEAVE, stale, dead node): host re-election,
  // HOST_CHANGED then USER_LEFT to the rest; an empty room is archived.
  Effects remove_member(RoomState& state, std::string_view user_id, LeaveReason reason,
                        Millis now) const;

  // A timer requested earlier fired. Stale tokens do nothing.
  Effects on_timer(RoomState& state, TimerKind kind, std::uint64_t token,
                   std::string_view user_id, Millis now) const;

  // Closes an overdue gate and removes members whose grace has run out. Safe to call at
  // any time (the cluster sweeper calls it when the node that armed a timer died).
  Effects sweep(RoomState& state, Millis now) const;

  const RoomConfig& config() const noexcept { return config_; }

 private:
  RoomConfig config_;
  const PinHasher& hasher_;
};

std::string_view to_string(LeaveReason reason) noexcept;

}  // namespace tandem::room
