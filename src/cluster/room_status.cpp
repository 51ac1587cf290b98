#include "cluster/room_status.hpp"

#include "room/sync_spread.hpp"

#include <boost/json/array.hpp>

namespace tandem::cluster {

namespace {

boost::json::value number_or_null(std::optional<double> value) {
  return value ? boost::json::value(*value) : boost::json::value(nullptr);
}

}  // namespace

// The sync fields (docs/SYNC.md) come after the contract's: syncOffset (s, + ahead of the
// room's timeline) and rttMs per user, syncSpread per room, null where not measured.
boost::json::object describe_room(const room::RoomState& state, protocol::Millis now,
                                  protocol::Millis report_fresh_for) {
  boost::json::array users;
  users.reserve(state.members.size());
  for (const auto& member : state.members) {
    users.push_back(boost::json::object{
        {"userId", member.user_id},
        {"username", member.username ? boost::json::value(*member.username) : nullptr},
        {"currentTime", member.current_time},
        {"isPlaying", member.is_playing},
        {"connectionQuality", member.connected ? "good" : "reconnecting"},
        {"syncOffset", number_or_null(room::timeline_offset(state, member, now, report_fresh_for))},
        {"rttMs", number_or_null(member.rtt_ms > 0 ? std::optional(member.rtt_ms) : std::nullopt)}});
  }
  return boost::json::object{
      {"roomId", state.id},
      {"connectionCount", state.connected_count()},
      {"currentTime", state.position(now)},
      {"isPlaying", state.is_playing},
      {"currentUrl", state.url.empty() ? boost::json::value(nullptr) : boost::json::value(state.url)},
      {"hostUserId", state.host_user_id},
      {"users", std::move(users)},
      {"syncSpread", number_or_null(state.is_playing
                                        ? room::sync_spread(state, now, report_fresh_for)
                                        : std::nullopt)}};
}

boost::json::object public_room_view(const boost::json::object& described) {
  boost::json::object out;
  for (const char* key : {"roomId", "connectionCount"}) {
    if (const auto* value = described.if_contains(key)) out[key] = *value;
  }
  boost::json::array users;
  if (const auto* listed = described.if_contains("users"); listed != nullptr && listed->is_array()) {
    users.resize(listed->as_array().size(), boost::json::object{});
  }
  out["users"] = std::move(users);
  return out;
}

}  // namespace tandem::cluster
