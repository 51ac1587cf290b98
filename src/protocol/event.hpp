#pragma once
// Server -> client messages as data. The room logic produces them; encode() turns one
// into the JSON frame that every recipient shares (serialize once).
#include <boost/json/object.hpp>

#include "protocol/capabilities.hpp"
#include "protocol/command.hpp"
#include "protocol/error_code.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tandem::protocol {

using Millis = std::int64_t;  // wall clock, ms since the Unix epoch

// The room's playback as members with scheduledPlayback follow it: paused at `position`, or
// playing from `position` at server time `start_at` (which may be ahead: a scheduled start).
// Written as "position" (and "startAt" when playing), only for those members.
struct Timeline {
  double position = 0;
  bool playing = false;
  Millis start_at = 0;

  bool operator==(const Timeline&) const = default;
};

struct MemberView {
  std::string user_id;
  std::optional<std::string> username;  // JSON null when absent
};

struct RoomStateEvent {
  static constexpr MessageType kType = MessageType::room_state;
  std::string room_id;
  std::string url;  // "" -> JSON null
  double current_time = 0;
  bool is_playing = false;
  std::string host_user_id;
  bool guest_control_enabled = false;
  std::vector<MemberView> users;  // join order
  bool answer_capabilities = false;  // the joiner announced capabilities: list the server's
  std::optional<Timeline> timeline{};
};

struct UserJoinedEvent {
  static constexpr MessageType kType = MessageType::user_joined;
  std::string user_id;
  std::string peer_id;
  std::optional<std::string> username;
};

struct UserLeftEvent {
  static constexpr MessageType kType = MessageType::user_left;
  std::string user_id;
  std::string peer_id;
};

struct HostChangedEvent {
  static constexpr MessageType kType = MessageType::host_changed;
  std::string host_user_id;
};

struct GuestControlEvent {
  static constexpr MessageType kType = MessageType::guest_control;
  bool enabled = false;
};

struct UsernameUpdatedEvent {
  static constexpr MessageType kType = MessageType::username_updated;
  std::string user_id;
  std::optional<std::string> username;
};

struct PlayPauseEvent {
  static constexpr MessageType kType = MessageType::play_pause;
  std::string user_id;  // "server" when the ready gate fires
  Control control = Control::pause;
  std::optional<double> current_time;
  std::optional<double> event_timestamp;
  std::optional<Timeline> timeline{};
};

struct SeekPauseEvent {
  static constexpr MessageType kType = MessageType::seek_pause;
  std::string user_id;
  double current_time = 0;
  double event_timestamp = 0;
};

struct HostHeartbeatEvent {
  static constexpr MessageType kType = MessageType::host_heartbeat;
  std::string user_id;
  double current_time = 0;
  bool is_playing = false;
  double event_timestamp = 0;
  std::optional<Timeline> timeline{};
};

struct UrlChangeEvent {
  static constexpr MessageType kType = MessageType::url_change;
  std::string user_id;
  std::string url;
  double current_time = 0;
};

struct SyncResponseEvent {
  static constexpr MessageType kType = MessageType::sync_response;
  double current_time = 0;
  bool is_playing = false;
  std::string url;  // "" -> JSON null
  std::optional<Timeline> timeline{};
};

struct PongEvent {
  static constexpr MessageType kType = MessageType::pong;
};

// Clock sync, step 2: the request's seq and client time echoed, and the server's wall clock
// (ms since the epoch, sub-millisecond) when the request was read and when this was sent.
struct ClockReplyEvent {
  static constexpr MessageType kType = MessageType::clock_reply;
  std::uint64_t seq = 0;
  double client_time = 0;
  double server_received = 0;
  double server_sent = 0;
};

struct ErrorEvent {
  static constexpr MessageType kType = MessageType::error;
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

// Relays and fallback broadcasts: the client's object with the server's overrides
// already applied by the room logic (from/userId = real sender). encode() adds nodeId,
// and timestamp for fallback broadcasts.
struct PassThroughEvent {
  boost::json::object message;
  bool add_timestamp = false;
};

using Event = std::variant<RoomStateEvent, UserJoinedEvent, UserLeftEvent, HostChangedEvent,
                           GuestControlEvent, UsernameUpdatedEvent, PlayPauseEvent, SeekPauseEvent,
                           HostHeartbeatEvent, UrlChangeEvent, SyncResponseEvent, PongEvent,
                           ClockReplyEvent, ErrorEvent, PassThroughEvent>;

// One encoded frame, shared by every recipient's write queue.
using Frame = std::shared_ptr<const std::string>;

// Wire type of an event ("ROOM_STATE", ...; a pass-through's own "type").
std::string_view event_type(const Event& event) noexcept;

// JSON text of the event. `now` becomes "timestamp" (every event but ERROR carries it);
// `node_id` becomes "nodeId" on ROOM_STATE and pass-through events. Capability-specific
// fields the event carries are written only when `recipient` has the capability: a
// broadcast is encoded once per recipient_key() among its recipients (FrameVariants), a
// reply, which the room logic built for its one recipient, as it is.
std::string encode(const Event& event, Millis now, std::string_view node_id,
                   Capabilities recipient = kEveryCapability);
Frame encode_frame(const Event& event, Millis now, std::string_view node_id,
                   Capabilities recipient = kEveryCapability);

// Recipients with the same key get the same bytes: the bits of kEncodingCapabilities they
// have, or 0 for every recipient when the event carries no capability-specific field.
Capabilities recipient_key(const Event& event, Capabilities recipient) noexcept;

}  // namespace tandem::protocol
