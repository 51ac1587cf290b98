#pragma once
// The state of one room: plain data, copyable, comparable. In cluster mode it is the
// versioned snapshot stored in Redis; in standalone mode it lives in LocalRooms.
#include "protocol/event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tandem::room {

using protocol::Millis;

struct Member {
  std::string user_id;
  std::optional<std::string> username;
  std::uint64_t join_seq = 0;     // order of joining; the host successor is the lowest
  std::string peer_id;            // the member's current connection (UUID); survives a disconnect
  std::string node_id;            // node that holds that connection
  // PIN rooms only: the client address it last joined from. A JOIN under this userId from
  // the same address is the member coming back (cluster/pin_lockout.hpp).
  std::string address;
  bool connected = true;          // false while inside the reconnect grace period
  Millis disconnected_at = 0;     // when `connected` went false
  Millis last_heartbeat = 0;      // last PING/heartbeat/position from this member
  double current_time = 0;        // the member's own position (POSITION_UPDATE)
  bool is_playing = false;
  Millis joined_at = 0;
  // docs/SYNC.md: what its JOIN announced (kAnnounced cleared), its connection's round trip
  // as the server measured it (0: not measured), and the server time at which it was at
  // current_time when its report said (POSITION_UPDATE sampledAt; 0: an untimed report).
  protocol::Capabilities capabilities = 0;
  double rtt_ms = 0;
  Millis position_sampled_at = 0;

  bool operator==(const Member&) const = default;
};

// The ready gate opened by a SEEK (PROTOCOL.md, "Ready gate").
struct Gate {
  std::uint64_t id = 0;            // unique within the room; a timer names the gate it closes
  std::string opened_by;
  std::size_t expected = 0;        // connected members when it opened
  std::size_t quorum = 1;          // max(1, ceil(0.6 * expected))
  double target = 0;
  bool desired_play = false;
  std::vector<std::string> ready;  // distinct userIds that sent READY
  Millis opened_at = 0;
  Millis deadline = 0;             // opened_at + gate timeout

  bool operator==(const Gate&) const = default;
};

struct RoomState {
  std::string id;
  std::string host_user_id;
  std::string url;                  // "" until a URL_CHANGE
  double current_time = 0;          // seconds, as of `position_at`
  Millis position_at = 0;           // wall clock when current_time was last set; ahead of
                                    // now while a scheduled start is not yet due
  bool is_playing = false;
  bool guest_control_enabled = false;
  std::string pin_hash;             // "" = no PIN; else PinHasher's encoded salted hash
  std::vector<Member> members;      // ordered by join_seq
  std::optional<Gate> gate;
  std::uint64_t next_seq = 1;       // source of join_seq and gate ids
  Millis created_at = 0;
  Millis updated_at = 0;
  std::uint64_t version = 0;        // bumped by every change (cluster compare-and-set)

  bool operator==(const RoomState&) const = default;

  const Member* find_member(std::string_view user_id) const noexcept;
  Member* find_member(std::string_view user_id) noexcept;
  std::size_t connected_count() const noexcept;
  // Position now: current_time advanced by the wall clock while playing.
  double position(Millis now) const noexcept;
};

}  // namespace tandem::room
