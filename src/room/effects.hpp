#pragma once
// What a room transition asks its caller to do. Data only: the caller (cluster/)
// delivers events, arms timers, closes connections and journals records.
#include "protocol/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::room {

using protocol::Millis;

enum class Audience {
  sender,      // the connection that issued the command (even if it is not a member)
  all,         // every connected member
  all_except,  // every connected member but `user_id`
  user,        // the connected member `user_id` only
};

struct Delivery {
  Audience audience = Audience::all;
  std::string user_id;  // for all_except and user
  protocol::Event event;
};

enum class TimerKind { gate, grace };

// Call RoomMachine::on_timer(kind, token, user_id) at `at` (or later). A timer that
// has become irrelevant is harmless: on_timer checks the token and does nothing.
struct TimerRequest {
  TimerKind kind = TimerKind::gate;
  std::uint64_t token = 0;  // gate id, or the member's disconnect epoch (disconnected_at)
  std::string user_id;      // grace timers: the member
  Millis at = 0;
};

// Close a connection the room no longer wants (e.g. replaced by the same user's new one).
struct CloseRequest {
  std::string peer_id;
  std::uint16_t code = 1000;
  std::string reason;
};

// An audit-log entry (room_events row): joins, leaves, host changes, guest control,
// PLAY_PAUSE, SEEK, URL_CHANGE, username changes, PIN failures.
struct Record {
  std::string event_type;  // "JOIN", "LEAVE", "HOST_CHANGED", "PIN_FAILED", ...
  std::string user_id;
  boost::json::object data;
};

enum class GateOutcome { quorum, timeout, replaced, cancelled };

struct Effects {
  std::vector<Delivery> deliveries;  // in order
  std::vector<TimerRequest> timers;
  std::vector<CloseRequest> closes;
  std::vector<Record> records;
  std::optional<GateOutcome> gate_outcome;
  bool changed = false;    // state differs (version bumped); false => nothing to persist
  bool coalesce = false;   // the change came from a high-rate message (PING, heartbeat,
                           // position): persist it coalesced, never in the audit log
  bool relay_dropped = false;  // a relay's target is not a connected member: dropped
  bool joined = false;     // the sender is now a member (bind its connection to the room)
  bool left = false;       // the sender's member was removed (unbind its connection)
  bool archived = false;   // the room is now empty and should be dropped/archived
  // A timed position report (POSITION_UPDATE sampledAt) measured the playing room's sync
  // spread in seconds (room/sync_spread.hpp): the caller observes it
  // (tandem_sync_spread_seconds).
  std::optional<double> sync_spread;
};

// Whether the transition audits an event of `type` (e.g. "PIN_FAILED").
inline bool has_record(const Effects& effects, std::string_view type) {
  for (const Record& record : effects.records) {
    if (record.event_type == type) return true;
  }
  return false;
}

}  // namespace tandem::room
