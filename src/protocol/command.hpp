#pragma once
// Client -> server messages, parsed and validated. A Command only exists if every
// rule of PROTOCOL.md held; the room logic never sees an invalid value.
#include <boost/json/object.hpp>

#include "protocol/capabilities.hpp"
#include "protocol/message_types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tandem::protocol {

struct Join {
  static constexpr MessageType kType = MessageType::join;
  std::string room_id;                  // validated [A-Za-z0-9_-]{1,50}
  std::string user_id;                  // validated [A-Za-z0-9_-]{1,100}
  std::optional<std::string> username;  // sanitized; nullopt when absent or empty after sanitizing
  std::optional<std::string> pin;       // validated 4-12 digits; nullopt when absent (or JSON null / "")
  Capabilities capabilities = 0;        // known names of `capabilities`, plus kAnnounced if sent
  // Never from the wire: the connection's round trip as the server measured it
  // (room::ClockExchange), filled in by the connection before the room sees the JOIN.
  std::optional<double> server_rtt_ms{};
};

struct Leave {
  static constexpr MessageType kType = MessageType::leave;
};

struct Ping {
  static constexpr MessageType kType = MessageType::ping;
};

struct UpdateUsername {
  static constexpr MessageType kType = MessageType::update_username;
  std::optional<std::string> username;  // sanitized; nullopt when empty after sanitizing
};

struct ToggleGuestControl {
  static constexpr MessageType kType = MessageType::toggle_guest_control;
  bool enabled = false;
};

struct TransferHost {
  static constexpr MessageType kType = MessageType::transfer_host;
  std::string target_user_id;  // validated like a userId
};

enum class Control { play, pause };

struct PlayPause {
  static constexpr MessageType kType = MessageType::play_pause;
  Control control = Control::pause;
  std::optional<double> current_time;     // finite, >= 0 (seconds)
  std::optional<double> event_timestamp;  // finite (ms since epoch, client clock)
};

struct Seek {
  static constexpr MessageType kType = MessageType::seek;
  double current_time = 0;  // finite, >= 0
  bool is_playing = false;
  std::optional<double> event_timestamp;
};

struct Ready {
  static constexpr MessageType kType = MessageType::ready;
  std::optional<double> target_time;
};

struct HostHeartbeat {
  static constexpr MessageType kType = MessageType::host_heartbeat;
  double current_time = 0;
  bool is_playing = false;
  std::optional<double> event_timestamp;
};

struct PositionUpdate {
  static constexpr MessageType kType = MessageType::position_update;
  double current_time = 0;
  bool is_playing = false;
  std::optional<double> sampled_at{};  // server time (ms) at which the player was at current_time
};

struct UrlChange {
  static constexpr MessageType kType = MessageType::url_change;
  std::string url;  // http(s)://, <= 2048 chars
  std::optional<double> current_time;
};

struct RequestSync {
  static constexpr MessageType kType = MessageType::request_sync;
  bool respect_auto_play = false;
};

// Clock sync, step 1 of 3 (docs/SYNC.md): answered by the connection itself (CLOCK_REPLY),
// at any time, joined or not; it never reaches a room.
struct ClockRequest {
  static constexpr MessageType kType = MessageType::clock_request;
  std::uint64_t seq = 0;   // echoed; an integer 0..2^53
  double client_time = 0;  // the client's clock when it sent this (ms, any origin), echoed
};

// Step 3: the client's immediate answer to a CLOCK_REPLY, so the server measures the
// connection's round trip itself.
struct ClockAck {
  static constexpr MessageType kType = MessageType::clock_ack;
  std::uint64_t seq = 0;
  // Never from the wire: set by the connection when its round-trip estimate moved enough for
  // the room to learn it; without it the connection keeps the ACK to itself.
  std::optional<double> server_rtt_ms{};
};

// MessageType::offer, answer or ice_candidate.
using RelayKind = MessageType;

// OFFER / ANSWER / ICE_CANDIDATE: forwarded to `to` only. `message` is the object
// exactly as the client sent it; the server overwrites from/userId and adds nodeId.
struct Relay {
  RelayKind kind = RelayKind::offer;
  std::string to;  // validated like a userId
  boost::json::object message;
};

// Any other well-formed type: broadcast to the room as sent plus userId/nodeId/timestamp.
struct Fallback {
  std::string type;  // [A-Za-z0-9_]{1,64}
  boost::json::object message;
};

using Command = std::variant<Join, Leave, Ping, UpdateUsername, ToggleGuestControl, TransferHost,
                             PlayPause, Seek, Ready, HostHeartbeat, PositionUpdate, UrlChange,
                             RequestSync, ClockRequest, ClockAck, Relay, Fallback>;

// Wire name of a command ("JOIN", "PLAY_PAUSE", ...; the fallback's own type).
std::string_view command_type(const Command& command) noexcept;

}  // namespace tandem::protocol
