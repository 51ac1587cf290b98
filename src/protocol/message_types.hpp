#pragma once
// Every message type the server knows, declared once: its wire name and who sends it. The
// rest takes what it needs from this table: the parser looks a "type" up here, each Command
// and Event struct names its row (kType) so that command_type() and event_type() need no
// list of their own, a type only the server sends is refused from clients, and the message
// counters are labelled with these names. A new type is a row here plus its struct (and, for
// a command, its parse function).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::protocol {

enum class MessageType : std::uint8_t {
  join,
  leave,
  ping,
  update_username,
  toggle_guest_control,
  transfer_host,
  play_pause,
  seek,
  ready,
  host_heartbeat,
  position_update,
  url_change,
  request_sync,
  offer,
  answer,
  ice_candidate,
  playback_ack,
  sync_playback,
  sync_response,
  room_state,
  user_joined,
  user_left,
  host_changed,
  guest_control,
  username_updated,
  seek_pause,
  pong,
  error,
  clock_request,
  clock_reply,
  clock_ack,
};

// Who sends a type under this name. `client`: only clients (a client type without a Command
// of its own, like PLAYBACK_ACK, is a fallback broadcast). `server`: only the server (a
// client may not send it: the others would believe it). `both`: clients send it and the
// server sends it on (as its own event, or relayed).
enum class Sender : std::uint8_t { client, server, both };

struct MessageTypeInfo {
  MessageType type;
  std::string_view name;
  Sender sender;
};

// In lookup order: the most frequent first (heartbeats, positions and pings dominate the
// traffic of a room).
inline constexpr std::array kMessageTypes{
    MessageTypeInfo{MessageType::host_heartbeat, "HOST_HEARTBEAT", Sender::both},
    MessageTypeInfo{MessageType::position_update, "POSITION_UPDATE", Sender::client},
    MessageTypeInfo{MessageType::ping, "PING", Sender::client},
    MessageTypeInfo{MessageType::clock_request, "CLOCK_REQUEST", Sender::client},
    MessageTypeInfo{MessageType::clock_ack, "CLOCK_ACK", Sender::client},
    MessageTypeInfo{MessageType::play_pause, "PLAY_PAUSE", Sender::both},
    MessageTypeInfo{MessageType::ice_candidate, "ICE_CANDIDATE", Sender::both},
    MessageTypeInfo{MessageType::seek, "SEEK", Sender::client},
    MessageTypeInfo{MessageType::ready, "READY", Sender::client},
    MessageTypeInfo{MessageType::request_sync, "REQUEST_SYNC", Sender::client},
    MessageTypeInfo{MessageType::join, "JOIN", Sender::client},
    MessageTypeInfo{MessageType::leave, "LEAVE", Sender::client},
    MessageTypeInfo{MessageType::update_username, "UPDATE_USERNAME", Sender::client},
    MessageTypeInfo{MessageType::toggle_guest_control, "TOGGLE_GUEST_CONTROL", Sender::client},
    MessageTypeInfo{MessageType::transfer_host, "TRANSFER_HOST", Sender::client},
    MessageTypeInfo{MessageType::url_change, "URL_CHANGE", Sender::both},
    MessageTypeInfo{MessageType::offer, "OFFER", Sender::both},
    MessageTypeInfo{MessageType::answer, "ANSWER", Sender::both},
    MessageTypeInfo{MessageType::playback_ack, "PLAYBACK_ACK", Sender::client},
    MessageTypeInfo{MessageType::sync_playback, "SYNC_PLAYBACK", Sender::client},
    // The contract names it as a server reply, and clients answer each other's sync
    // requests with it (a fallback broadcast): not reserved.
    MessageTypeInfo{MessageType::sync_response, "SYNC_RESPONSE", Sender::both},
    MessageTypeInfo{MessageType::room_state, "ROOM_STATE", Sender::server},
    MessageTypeInfo{MessageType::user_joined, "USER_JOINED", Sender::server},
    MessageTypeInfo{MessageType::user_left, "USER_LEFT", Sender::server},
    MessageTypeInfo{MessageType::host_changed, "HOST_CHANGED", Sender::server},
    MessageTypeInfo{MessageType::guest_control, "GUEST_CONTROL", Sender::server},
    MessageTypeInfo{MessageType::username_updated, "USERNAME_UPDATED", Sender::server},
    MessageTypeInfo{MessageType::seek_pause, "SEEK_PAUSE", Sender::server},
    MessageTypeInfo{MessageType::pong, "PONG", Sender::server},
    MessageTypeInfo{MessageType::error, "ERROR", Sender::server},
    MessageTypeInfo{MessageType::clock_reply, "CLOCK_REPLY", Sender::server},
};

namespace detail {
// Every enumerator has exactly one row (checked at compile time below).
constexpr bool each_type_listed_once() {
  for (std::size_t type = 0; type < kMessageTypes.size(); ++type) {
    int rows = 0;
    for (const MessageTypeInfo& row : kMessageTypes) {
      if (static_cast<std::size_t>(row.type) == type) ++rows;
    }
    if (rows != 1) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::each_type_listed_once(), "kMessageTypes: one row per MessageType");

constexpr const MessageTypeInfo& info(MessageType type) noexcept {
  for (const MessageTypeInfo& row : kMessageTypes) {
    if (row.type == type) return row;
  }
  return kMessageTypes.front();  // unreachable: every type has a row
}

constexpr std::string_view wire_name(MessageType type) noexcept { return info(type).name; }

// The row of a wire name, or nullopt for a name the server does not know (a fallback type).
std::optional<MessageType> find_message_type(std::string_view name) noexcept;

// Metric label values: the names clients send (tandem_messages_in_total), and the names the
// server sends, relayed ones included (tandem_messages_out_total).
std::vector<std::string> inbound_type_names();
std::vector<std::string> outbound_type_names();

}  // namespace tandem::protocol
