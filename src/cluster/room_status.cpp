#include "cluster/room_status.hpp"

#include <boost/json/array.hpp>

namespace tandem::cluster {

boost::json::object describe_room(const room::RoomState& state, protocol::Millis now) {
  boost::json::array users;
  users.reserve(state.members.size());
  for (const auto& member : state.members) {
    users.push_back(boost::json::object{
        {"userId", member.user_id},
        {"username", member.username ? boost::json::value(*member.username) : nullptr},
        {"currentTime", member.current_time},
        {"isPlaying", member.is_playing},
        {"connectionQuality", member.connected ? "good" : "reconnecting"}});
  }
  return boost::json::object{
      {"roomId", state.id},
      {"connectionCount", state.connected_count()},
      {"currentTime", state.position(now)},
      {"isPlaying", state.is_playing},
      {"currentUrl", state.url.empty() ? boost::json::value(nullptr) : boost::json::value(state.url)},
      {"hostUserId", state.host_user_id},
      {"users", std::move(users)}};
}

}  // namespace tandem::cluster
