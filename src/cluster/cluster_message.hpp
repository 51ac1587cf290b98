#pragma once
// What a node PUBLISHes on a room's channel: the deliveries of one room transition (frames
// already encoded, with their audience), the room's new version for a state change, and
// for the changes other nodes need to know of at once (joins, timers armed, connections
// closed) the new snapshot itself, so every subscribed node delivers to its own members
// and refreshes or invalidates its cached copy from one message. Pure: no IO.
//
// Wire form (one Redis message):
//   <header JSON>\n<snapshot JSON or empty>\n<frame 1><frame 2>...
// header = {"v":version (0: no state change),"s":sender peer id,
//           "d":[{"a":"all"|"ex"|"user"|"peer","u":userId,"p":peerId,"t":type,"e":errorCode,
//                 "n":frame length,"x":[{"c":capabilities,"n":length}, ...]}, ...],
//           "c":[{"p":peerId,"k":close code,"r":reason}, ...]}
// Neither JSON part contains a raw newline (JSON escapes them), and frames are sliced by
// their lengths, so frames are carried as they are, not re-escaped. A delivery's variants
// ("x", docs/SYNC.md) follow its frame, in order.
#include "protocol/capabilities.hpp"
#include "room/room_state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::cluster {

enum class Target {
  all,     // every connected member
  except,  // every connected member but user `user` and the sender's connection
  user,    // the connected member `user` only
  peer,    // the connection `peer` only (the sender of the command)
};

struct MessageDelivery {
  Target target = Target::all;
  std::string user;
  std::string peer;
  std::string type;        // wire type of the event (metrics)
  std::string error_code;  // for ERROR events (metrics)
  std::string frame;       // the encoded event, as sent to clients
  // The same event encoded for recipients with these capabilities (protocol::recipient_key
  // != 0); everyone else gets `frame`.
  std::vector<std::pair<protocol::Capabilities, std::string>> variants{};

  // Index of the frame for a recipient: 0 for `frame`, i + 1 for variants[i].
  std::size_t variant_for(protocol::Capabilities recipient) const noexcept;
};

struct MessageClose {
  std::string peer;
  std::uint16_t code = 1000;
  std::string reason;
};

struct ClusterMessage {
  std::uint64_t version = 0;  // 0: deliveries only (relays, fallback broadcasts)
  std::string sender;         // the sender's peer id ("" when none)
  std::optional<room::RoomState> state;  // only with version != 0 (and then optional)
  std::vector<MessageDelivery> deliveries;
  std::vector<MessageClose> closes;
};

std::string encode_message(const ClusterMessage& message);
// The same with the snapshot already serialized (room_codec JSON; ignores message.state).
std::string encode_message(const ClusterMessage& message, std::string_view snapshot);
// nullopt when the text is not a well-formed message (wrong lengths, bad JSON, bad state).
std::optional<ClusterMessage> decode_message(std::string_view text);

}  // namespace tandem::cluster
