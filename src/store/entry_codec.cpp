#include "store/entry_codec.hpp"

#include "protocol/json_numbers.hpp"
#include "room/room_codec.hpp"
#include "store/overloaded.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <limits>

namespace tandem::store {
namespace {

namespace json = boost::json;

const json::string* string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

std::optional<Millis> millis_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() &&
      v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<Millis>::max())) {
    return static_cast<Millis>(v->get_uint64());
  }
  return std::nullopt;
}

}  // namespace

std::string encode_entry(const JournalEntry& entry) {
  json::object o;
  std::visit(Overloaded{
                 [&](const RoomSnapshot& e) {
                   o["k"] = "snapshot";
                   o["at"] = e.at;
                   o["state"] = room::to_json(e.state);
                 },
                 [&](const RoomArchived& e) {
                   o["k"] = "archived";
                   o["room_id"] = e.room_id;
                   o["at"] = e.at;
                 },
                 [&](const AuditEvent& e) {
                   o["k"] = "audit";
                   o["room_id"] = e.room_id;
                   o["event_type"] = e.event_type;
                   o["user_id"] = e.user_id;
                   o["data"] = e.data;
                   o["at"] = e.at;
                 },
                 [&](const ShortIdRecord& e) {
                   o["k"] = "short_id";
                   o["short_id"] = e.short_id;
                   o["room_id"] = e.room_id;
                   o["expires_at"] = e.expires_at;
                 },
             },
             entry);
  return json::serialize(o);
}

std::optional<JournalEntry> decode_entry(std::string_view line) {
  json::error_code ec;
  const json::value value = json::parse(json::string_view(line.data(), line.size()), ec);
  // A number too large for a double reads as infinity and could not be written back.
  if (ec || !value.is_object() || !protocol::numbers_are_finite(value)) return std::nullopt;
  const json::object& o = value.get_object();
  const json::string* kind = string_field(o, "k");
  if (kind == nullptr) return std::nullopt;

  if (*kind == "snapshot") {
    const auto at = millis_field(o, "at");
    const auto* state = o.if_contains("state");
    if (!at || state == nullptr) return std::nullopt;
    auto room = room::room_state_from_json(*state);
    if (!room) return std::nullopt;
    return RoomSnapshot{std::move(*room), *at};
  }
  if (*kind == "archived") {
    const auto* room_id = string_field(o, "room_id");
    const auto at = millis_field(o, "at");
    if (room_id == nullptr || !at) return std::nullopt;
    return RoomArchived{std::string(*room_id), *at};
  }
  if (*kind == "audit") {
    const auto* room_id = string_field(o, "room_id");
    const auto* event_type = string_field(o, "event_type");
    const auto* user_id = string_field(o, "user_id");
    const auto* data = o.if_contains("data");
    const auto at = millis_field(o, "at");
    if (room_id == nullptr || event_type == nullptr || user_id == nullptr || data == nullptr ||
        !data->is_object() || !at) {
      return std::nullopt;
    }
    return AuditEvent{std::string(*room_id), std::string(*event_type), std::string(*user_id),
                      data->get_object(), *at};
  }
  if (*kind == "short_id") {
    const auto* short_id = string_field(o, "short_id");
    const auto* room_id = string_field(o, "room_id");
    const auto expires_at = millis_field(o, "expires_at");
    if (short_id == nullptr || room_id == nullptr || !expires_at) return std::nullopt;
    return ShortIdRecord{std::string(*short_id), std::string(*room_id), *expires_at};
  }
  return std::nullopt;
}

const std::string& entry_room_id(const JournalEntry& entry) {
  return std::visit(Overloaded{
                        [](const RoomSnapshot& e) -> const std::string& { return e.state.id; },
                        [](const RoomArchived& e) -> const std::string& { return e.room_id; },
                        [](const AuditEvent& e) -> const std::string& { return e.room_id; },
                        [](const ShortIdRecord& e) -> const std::string& { return e.room_id; },
                    },
                    entry);
}

std::string_view entry_kind(const JournalEntry& entry) noexcept {
  static constexpr std::string_view kNames[] = {"snapshot", "archived", "audit", "short_id"};
  return kNames[entry.index()];
}

}  // namespace tandem::store
