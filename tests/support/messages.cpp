#include "support/messages.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>

#ifndef TANDEM_SHARED_DIR
#error "TANDEM_SHARED_DIR must name the shared folder"
#endif

namespace tandem::test {

std::string type_of(const json::object& message) {
  const auto* type = message.if_contains("type");
  if (type == nullptr || !type->is_string()) return "";
  return std::string(type->get_string());
}

bool has(const json::object& message, std::string_view key) {
  return message.if_contains(key) != nullptr;
}

std::string str(const json::object& message, std::string_view key) {
  const auto* value = message.if_contains(key);
  if (value == nullptr) return "<missing " + std::string(key) + ">";
  if (!value->is_string()) return "<not a string: " + json::serialize(*value) + ">";
  return std::string(value->get_string());
}

double num(const json::object& message, std::string_view key) {
  const auto* value = message.if_contains(key);
  if (value == nullptr || !value->is_number()) return std::numeric_limits<double>::quiet_NaN();
  return value->to_number<double>();
}

std::int64_t int_of(const json::object& message, std::string_view key) {
  const auto* value = message.if_contains(key);
  if (value == nullptr || !value->is_number()) return std::numeric_limits<std::int64_t>::min();
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->get_uint64());
  return static_cast<std::int64_t>(std::llround(value->get_double()));
}

std::optional<bool> flag(const json::object& message, std::string_view key) {
  const auto* value = message.if_contains(key);
  if (value == nullptr || !value->is_bool()) return std::nullopt;
  return value->get_bool();
}

bool is_null(const json::object& message, std::string_view key) {
  const auto* value = message.if_contains(key);
  return value != nullptr && value->is_null();
}

const json::array& arr(const json::object& message, std::string_view key) {
  static const json::array empty;
  const auto* value = message.if_contains(key);
  if (value == nullptr || !value->is_array()) return empty;
  return value->get_array();
}

const json::object& obj(const json::object& message, std::string_view key) {
  static const json::object empty;
  const auto* value = message.if_contains(key);
  if (value == nullptr || !value->is_object()) return empty;
  return value->get_object();
}

std::vector<std::string> user_ids(const json::array& users) {
  std::vector<std::string> out;
  for (const auto& user : users) {
    out.push_back(user.is_object() ? str(user.get_object(), "userId") : "<not an object>");
  }
  return out;
}

bool is_uuid_v4(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  if (text[14] != '4') return false;
  return text[19] == '8' || text[19] == '9' || text[19] == 'a' || text[19] == 'b';
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace msg {

json::object join(std::string_view room_id, std::string_view user_id,
                  std::optional<std::string> username, std::optional<std::string> pin) {
  json::object m{{"type", "JOIN"}, {"roomId", room_id}, {"userId", user_id}};
  if (username) m["username"] = *username;
  if (pin) m["pin"] = *pin;
  m["timestamp"] = now_ms();
  return m;
}

json::object leave() {
  return {{"type", "LEAVE"}, {"timestamp", now_ms()}};
}

json::object ping(std::optional<std::int64_t> timestamp) {
  return {{"type", "PING"}, {"timestamp", timestamp.value_or(now_ms())}};
}

json::object update_username(json::value username) {
  return {{"type", "UPDATE_USERNAME"}, {"username", std::move(username)}};
}

json::object toggle_guest_control(bool enabled) {
  return {{"type", "TOGGLE_GUEST_CONTROL"}, {"enabled", enabled}};
}

json::object transfer_host(std::string_view target_user_id) {
  return {{"type", "TRANSFER_HOST"}, {"targetUserId", target_user_id}};
}

json::object play_pause(std::string_view control, std::optional<double> current_time,
                        std::optional<double> event_timestamp) {
  json::object m{{"type", "PLAY_PAUSE"}, {"control", control}};
  if (current_time) m["currentTime"] = *current_time;
  if (event_timestamp) m["eventTimestamp"] = *event_timestamp;
  return m;
}

json::object seek(double current_time, bool is_playing, std::optional<double> event_timestamp) {
  json::object m{{"type", "SEEK"}, {"currentTime", current_time}, {"isPlaying", is_playing}};
  if (event_timestamp) m["eventTimestamp"] = *event_timestamp;
  return m;
}

json::object ready(std::optional<double> target_time) {
  json::object m{{"type", "READY"}};
  if (target_time) m["targetTime"] = *target_time;
  return m;
}

json::object host_heartbeat(double current_time, bool is_playing,
                            std::optional<double> event_timestamp) {
  json::object m{
      {"type", "HOST_HEARTBEAT"}, {"currentTime", current_time}, {"isPlaying", is_playing}};
  if (event_timestamp) m["eventTimestamp"] = *event_timestamp;
  return m;
}

json::object position_update(double current_time, bool is_playing) {
  return {{"type", "POSITION_UPDATE"}, {"currentTime", current_time}, {"isPlaying", is_playing}};
}

json::object url_change(std::string_view url, std::optional<double> current_time) {
  json::object m{{"type", "URL_CHANGE"}, {"url", url}};
  if (current_time) m["currentTime"] = *current_time;
  return m;
}

json::object request_sync(std::optional<bool> respect_auto_play) {
  json::object m{{"type", "REQUEST_SYNC"}};
  if (respect_auto_play) m["respectAutoPlay"] = *respect_auto_play;
  return m;
}

json::object offer(std::string_view to, json::object offer) {
  return {{"type", "OFFER"}, {"to", to}, {"offer", std::move(offer)}};
}

json::object answer(std::string_view to, json::object answer) {
  return {{"type", "ANSWER"}, {"to", to}, {"answer", std::move(answer)}};
}

json::object ice_candidate(std::string_view to, json::value candidate) {
  return {{"type", "ICE_CANDIDATE"}, {"to", to}, {"candidate", std::move(candidate)}};
}

json::object custom(std::string_view type, json::object fields) {
  fields["type"] = type;
  return fields;
}

}  // namespace msg

const json::object& client_example(std::string_view type, int n) {
  static std::once_flag once;
  static json::array messages;
  std::call_once(once, [] {
    const std::string path = std::string(TANDEM_SHARED_DIR) + "/examples/client-messages.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    json::value doc = json::parse(text.str());
    for (const auto& entry : doc.at("messages").as_array()) {
      messages.push_back(entry.at("msg"));
    }
  });
  int seen = 0;
  for (const auto& m : messages) {
    if (m.is_object() && type_of(m.get_object()) == type) {
      if (seen++ == n) return m.get_object();
    }
  }
  throw std::runtime_error("client-messages.json has no message #" + std::to_string(n) +
                           " of type " + std::string(type));
}

}  // namespace tandem::test
