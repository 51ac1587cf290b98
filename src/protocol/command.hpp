#pragma once
// Client -> server messages, parsed and validated. A Command only exists if every
// rule of PROTOCOL.md held; the room logic never sees an invalid value.
#include <boost/json/object.hpp>

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
                             RequestSync, Relay, Fallback>;

// Wire name of a command ("JOIN", "PLAY_PAUSE", ...; the fallback's own type).
std::string_view command_type(const Command& command) noexcept;

}  // namespace tandem::protocol
