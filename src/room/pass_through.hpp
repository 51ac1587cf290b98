#pragma once
// Rules for the messages the server passes on without understanding them: relays
// (OFFER / ANSWER / ICE_CANDIDATE, to one member) and fallback broadcasts (any other type,
// to the whole room). Clients act on what these say about who sent them and when, so the
// keys that say it are the server's, whatever the client wrote (docs/SECURITY.md,
// "Pass-through messages").
#include "room/room_state.hpp"

#include <boost/json/object.hpp>

#include <string_view>

namespace tandem::room {

enum class PassThroughKind { relay, broadcast };

// Fallback types that steer the receivers' playback (a SYNC_RESPONSE or SYNC_PLAYBACK
// seeks, plays, pauses or navigates whoever applies it): they obey guest control exactly
// like PLAY_PAUSE. The list is in pass_through.cpp and docs/PROTOCOL.md.
bool steers_playback(std::string_view type) noexcept;

// Makes the reserved keys of `message` the server's:
// - userId: the sender's real userId, always;
// - from: the sender, always on a relay, and on a broadcast that carries one;
// - fromUserId: the sender, when present (the server's own SYNC_RESPONSE says "server");
// - nodeId: removed here, written by the encoder (the node that accepted the message);
// - timestamp: a broadcast's is removed here and written by the encoder; a relay carries
//   none of its own, so one a client wrote becomes the server's `now`.
void set_reserved_fields(boost::json::object& message, PassThroughKind kind,
                         std::string_view sender, Millis now);

}  // namespace tandem::room
