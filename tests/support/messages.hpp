#pragma once
// Client messages as the extension sends them (one factory per type), the real messages of
// /work/shared/examples/client-messages.json, and small accessors for received objects.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>  // json::serialize, for failure messages in every test
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::test {

namespace json = boost::json;

// ---- accessors (a missing or mistyped field gives a value no assertion will accept) ----

// The message's "type", or "" when absent.
std::string type_of(const json::object& message);
bool has(const json::object& message, std::string_view key);
// The string field, or "<missing key>" / "<not a string: ...>".
std::string str(const json::object& message, std::string_view key);
// The number field (int or double) as a double, or NaN.
double num(const json::object& message, std::string_view key);
// The number field as an integer (ms timestamps), or INT64_MIN.
std::int64_t int_of(const json::object& message, std::string_view key);
// The boolean field; std::nullopt when missing or not a boolean.
std::optional<bool> flag(const json::object& message, std::string_view key);
bool is_null(const json::object& message, std::string_view key);
const json::array& arr(const json::object& message, std::string_view key);
const json::object& obj(const json::object& message, std::string_view key);
// userIds of a ROOM_STATE "users" (or /status users) array, in order.
std::vector<std::string> user_ids(const json::array& users);

// RFC 4122 version 4 UUID, lower-case hex.
bool is_uuid_v4(std::string_view text);
// Wall clock, ms since the epoch (what the server's timestamps use).
std::int64_t now_ms();

// ---- client -> server messages ----
namespace msg {

json::object join(std::string_view room_id, std::string_view user_id,
                  std::optional<std::string> username = std::nullopt,
                  std::optional<std::string> pin = std::nullopt);
json::object leave();
json::object ping(std::optional<std::int64_t> timestamp = std::nullopt);
json::object update_username(json::value username);
json::object toggle_guest_control(bool enabled);
json::object transfer_host(std::string_view target_user_id);
json::object play_pause(std::string_view control, std::optional<double> current_time = std::nullopt,
                        std::optional<double> event_timestamp = std::nullopt);
json::object seek(double current_time, bool is_playing,
                  std::optional<double> event_timestamp = std::nullopt);
json::object ready(std::optional<double> target_time = std::nullopt);
json::object host_heartbeat(double current_time, bool is_playing,
                            std::optional<double> event_timestamp = std::nullopt);
json::object position_update(double current_time, bool is_playing);
json::object url_change(std::string_view url, std::optional<double> current_time = std::nullopt);
json::object request_sync(std::optional<bool> respect_auto_play = std::nullopt);
json::object offer(std::string_view to, json::object offer);
json::object answer(std::string_view to, json::object answer);
json::object ice_candidate(std::string_view to, json::value candidate);
// Any other type (PLAYBACK_ACK, ...): fallback broadcast.
json::object custom(std::string_view type, json::object fields = {});

}  // namespace msg

// The `n`-th message of `type` in client-messages.json (read from TANDEM_SHARED_DIR).
const json::object& client_example(std::string_view type, int n = 0);

}  // namespace tandem::test
