#pragma once
// Redis key and channel names of cluster mode. A room's keys and its channel share the
// hash tag {room:ID}, so they live in one Redis Cluster slot (the CAS script touches only
// them) and sharded pub/sub (SSUBSCRIBE/SPUBLISH) can route the channel with them. Keys
// that index across rooms (the node registry, the room listing) are separate on purpose:
// they are never touched by the same script as a room.
#include <string>
#include <string_view>

namespace tandem::cluster::keys {

inline std::string room_tag(std::string_view room_id) {
  return "tandem:{room:" + std::string(room_id) + "}";
}
// Hash: v = version, s = the room's snapshot (room_codec JSON). A snapshot with no
// members is a tombstone (expires), keeping the version and sequence of an emptied room.
inline std::string room_state(std::string_view room_id) { return room_tag(room_id) + ":state"; }
inline std::string room_channel(std::string_view room_id) { return room_tag(room_id) + ":events"; }
inline std::string room_short(std::string_view room_id) { return room_tag(room_id) + ":short"; }
// PIN failure counters and locks (cluster/pin_lockout.hpp), as counter/lock pairs. In the
// room's slot: the room's recent failures (never locked: the lock key is only named), an
// address's failures for the room, a member claim's. In the address's own slot: the
// address's failures across rooms. Addresses are pin_address_key()s.
inline std::string pin_room_fails(std::string_view room_id) { return room_tag(room_id) + ":pinfails"; }
inline std::string pin_room_lock(std::string_view room_id) { return room_tag(room_id) + ":pinlock"; }
inline std::string pin_addr_room_fails(std::string_view room_id, std::string_view address) {
  return room_tag(room_id) + ":pinfails:addr:" + std::string(address);
}
inline std::string pin_addr_room_lock(std::string_view room_id, std::string_view address) {
  return room_tag(room_id) + ":pinlock:addr:" + std::string(address);
}
inline std::string pin_claim_fails(std::string_view room_id, std::string_view user_id) {
  return room_tag(room_id) + ":pinfails:user:" + std::string(user_id);
}
inline std::string pin_claim_lock(std::string_view room_id, std::string_view user_id) {
  return room_tag(room_id) + ":pinlock:user:" + std::string(user_id);
}
inline std::string pin_addr_fails(std::string_view address) {
  return "tandem:{addr:" + std::string(address) + "}:pinfails";
}
inline std::string pin_addr_lock(std::string_view address) {
  return "tandem:{addr:" + std::string(address) + "}:pinlock";
}
// New short ids for rooms that do not exist, counted per client address (TTL: the window).
inline std::string short_rate(std::string_view address) {
  return "tandem:{addr:" + std::string(address) + "}:shortids";
}
inline std::string short_id(std::string_view short_id) {
  return "tandem:short:" + std::string(short_id);
}
// Sorted set of the short ids of rooms that do not exist, scored by expiry (bounded).
inline constexpr std::string_view kShortEvictable = "tandem:short:evictable";
inline constexpr std::string_view kNodes = "tandem:nodes";  // set of registered node ids
// Sorted set of live room ids, all scored 0: ZRANGEBYLEX pages it in id order (/status).
inline constexpr std::string_view kRoomIndex = "tandem:rooms:index";
// Liveness of a node (expires NODE_DEAD_AFTER_MS after its last refresh); its value is a
// JSON description for /status.
inline std::string node(std::string_view node_id) { return "tandem:node:" + std::string(node_id); }
// Rooms where the node has (or had) members: what survivors check when it dies.
inline std::string node_rooms(std::string_view node_id) {
  return "tandem:node:" + std::string(node_id) + ":rooms";
}

}  // namespace tandem::cluster::keys
