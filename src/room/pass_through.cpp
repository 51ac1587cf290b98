#include "room/pass_through.hpp"

#include <array>

namespace tandem::room {

bool steers_playback(std::string_view type) noexcept {
  // The shipped extension applies these two to its player (PROTOCOL.md names them). The
  // rest of what it broadcasts (PLAYBACK_ACK: "I played", addressed by `to`) reports
  // rather than commands, so any member may send it.
  static constexpr std::array<std::string_view, 2> kSteering{"SYNC_RESPONSE", "SYNC_PLAYBACK"};
  for (const std::string_view steering : kSteering) {
    if (type == steering) return true;
  }
  return false;
}

void set_reserved_fields(boost::json::object& message, PassThroughKind kind,
                         std::string_view sender, Millis now) {
  message["userId"] = sender;
  if (kind == PassThroughKind::relay || message.contains("from")) message["from"] = sender;
  if (message.contains("fromUserId")) message["fromUserId"] = sender;
  message.erase("nodeId");
  if (kind == PassThroughKind::broadcast) {
    message.erase("timestamp");
  } else if (message.contains("timestamp")) {
    message["timestamp"] = now;
  }
}

}  // namespace tandem::room
