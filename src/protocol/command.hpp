#pragma once
// Client -> server messages, parsed and validated. A Command only exists if every
// rule of PROTOCOL.md held; the room logic never sees an invalid value.
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tandem::protocol {

struct Join {
  std::string room_id;                  // validated [A-Za-z0-9_-]{1,50}
  std::string user_id;                  // validated [A-Za-z0-9_-]{1,100}
  std::optional<std::string> username;  // sanitized; nullopt when absent or empty after sanitizing
  std::optional<std::string> pin;       // validated 4-12 digits; nullopt when absent (or JSON null / "")
};

struct Leave {};

struct Ping {};

struct UpdateUsername {
  std::optional<std::string> username;  // sanitized; nullopt when empty after sanitizing
};

struct ToggleGuestControl {
  bool enabled = false;
};

struct TransferHost {
  std::string target_user_id;  // validated like a userId
};

enum class Control { play, pause };

struct PlayPause {
  Control control = Control::pause;
  std::optional<double> current_time;     // finite, >= 0 (seconds)
  std::optional<double> event_timestamp;  // finite (ms since epoch, client clock)
};

struct Seek {
  double current_time = 0;  // finite, >= 0
  bool is_playing = false;
  std::optional<double> event_timestamp;
};

struct Ready {
  std::optional<double> target_time;
};

struct HostHeartbeat {
  double current_time = 0;
  bool is_playing = false;
  std::optional<double> event_timestamp;
};

struct PositionUpdate {
  double current_time = 0;
  bool is_playing = false;
};

struct UrlChange {
  std::string url;  // http(s)://, <= 2048 chars
  std::optional<double> current_time;
};

struct RequestSync {
  bool respect_auto_play = false;
};

enum class RelayKind { offer, answer, ice_candidate };

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
