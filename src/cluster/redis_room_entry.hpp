#pragma once
// What a cluster node knows and does about one room while it works on it: its cached
// snapshot and the versions seen, the channel subscription, its members connected here,
// and the room's operation queue. Shared by RedisRooms (bindings), RedisRoomQueue (the
// operations) and RedisRoomChannel (the messages); all on the event loop.
#include "cluster/outbox.hpp"
#include "cluster/room_op.hpp"
#include "protocol/capabilities.hpp"
#include "room/room_state.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tandem::cluster {

struct RedisRoomEntry {
  struct LocalMember {
    std::string user_id;
    std::string peer_id;
    protocol::Capabilities capabilities = 0;  // picks its frame of a broadcast (docs/SYNC.md)
  };
  std::optional<room::RoomState> cache;  // the newest snapshot this node knows
  std::uint64_t latest_version = 0;      // the highest version seen (messages, reads)
  std::uint64_t heard_version = 0;       // the highest version received on the channel
  // A commit of ours whose message has not come back on the channel yet (0: none). Its
  // deliveries may be for a connection that is no member here (a refused JOIN's ERROR),
  // so the entry, and its subscription, stay until it does (or the subscriber drops).
  std::uint64_t awaiting_version = 0;
  bool fresh = false;  // cache is current: read after subscribing, messages applied since
  bool want_subscription = false;
  bool subscribed = false;  // Redis confirmed the subscription (since the last reconnect)
  std::unordered_map<ConnId, LocalMember> local;  // joined connections on this node
  // JOINs of this node whose reply came back before their transition's message: each
  // becomes a local member when the channel brings that message (version), so that it
  // gets nothing of the room before its own ROOM_STATE, and everything after it.
  struct Joined {
    LocalMember member;
    std::uint64_t version = 0;
  };
  std::unordered_map<ConnId, Joined> joined_early;
  std::size_t joining = 0;  // JOINs of this node waiting to commit
  std::deque<RoomOpPtr> queue;
  bool busy = false;
  bool sweep_queued = false;

  // `peer` is a connection bound here to this room (a member, or one about to be).
  bool bound_here(std::string_view peer) const {
    const auto member = [peer](const auto& item) { return item.second.peer_id == peer; };
    const auto joined = [peer](const auto& item) { return item.second.member.peer_id == peer; };
    return std::any_of(local.begin(), local.end(), member) ||
           std::any_of(joined_early.begin(), joined_early.end(), joined);
  }
};

// The rooms this node works on, by id.
using RedisRoomTable = std::unordered_map<std::string, RedisRoomEntry>;

}  // namespace tandem::cluster
