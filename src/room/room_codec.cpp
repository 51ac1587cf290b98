#include "room/room_codec.hpp"

#include "protocol/json_writer.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

namespace tandem::room {
namespace {

namespace json = boost::json;

// Typed field readers: nullopt when the key is missing or holds another type.
class Reader {
 public:
  explicit Reader(const json::object& o) : o_(o) {}

  const json::value* find(std::string_view key) const {
    const auto it = o_.find(key);
    return it == o_.end() ? nullptr : &it->value();
  }

  std::optional<std::string> string(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  }

  // A string or null.
  std::optional<std::optional<std::string>> nullable_string(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_null()) return std::optional<std::string>{};
    if (!v->is_string()) return std::nullopt;
    return std::optional<std::string>{std::string(v->get_string())};
  }

  std::optional<bool> boolean(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || !v->is_bool()) return std::nullopt;
    return v->get_bool();
  }

  // Any finite JSON number.
  std::optional<double> number(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) return std::nullopt;
    double out = 0;
    if (v->is_double()) {
      out = v->get_double();
    } else if (v->is_int64()) {
      out = static_cast<double>(v->get_int64());
    } else if (v->is_uint64()) {
      out = static_cast<double>(v->get_uint64());
    } else {
      return std::nullopt;
    }
    if (!std::isfinite(out)) return std::nullopt;
    return out;
  }

  // A non-negative integer (written as int64 or uint64 by the parser).
  std::optional<std::uint64_t> unsigned_integer(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    return std::nullopt;
  }

  std::optional<std::int64_t> integer(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() &&
        v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    return std::nullopt;
  }

  std::optional<std::size_t> size(std::string_view key) const {
    const auto value = unsigned_integer(key);
    if (!value || *value > std::numeric_limits<std::size_t>::max()) return std::nullopt;
    return static_cast<std::size_t>(*value);
  }

 private:
  const json::object& o_;
};

// Assigns `*source` to `target`; false when the field was missing or invalid.
template <class T, class U>
bool take(T& target, std::optional<U> source) {
  if (!source) return false;
  target = std::move(*source);
  return true;
}

// The fields added after the format's first version: absent is fine (their defaults), a
// wrong type is not.
bool optional_member_fields(const Reader& r, Member& m) {
  if (const auto* names = r.find("capabilities")) {
    if (!names->is_array()) return false;
    for (const auto& name : names->get_array()) {
      if (!name.is_string()) return false;
      m.capabilities |= protocol::capability_named(name.get_string());
    }
  }
  if (r.find("rtt_ms") != nullptr && !take(m.rtt_ms, r.number("rtt_ms"))) return false;
  if (r.find("position_sampled_at") != nullptr &&
      !take(m.position_sampled_at, r.integer("position_sampled_at"))) {
    return false;
  }
  return true;
}

std::optional<Member> member_from_json(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const Reader r(value.get_object());
  Member m;
  const bool ok =
      take(m.user_id, r.string("user_id")) && take(m.username, r.nullable_string("username")) &&
      take(m.join_seq, r.unsigned_integer("join_seq")) && take(m.peer_id, r.string("peer_id")) &&
      take(m.node_id, r.string("node_id")) && take(m.connected, r.boolean("connected")) &&
      take(m.disconnected_at, r.integer("disconnected_at")) &&
      take(m.last_heartbeat, r.integer("last_heartbeat")) &&
      take(m.current_time, r.number("current_time")) &&
      take(m.is_playing, r.boolean("is_playing")) && take(m.joined_at, r.integer("joined_at"));
  if (!ok) return std::nullopt;
  // Optional: snapshots written before members kept an address have none (and an older
  // node reading a newer snapshot ignores the key), so neither needs a codec version.
  take(m.address, r.string("address"));
  return optional_member_fields(r, m) ? std::optional<Member>(std::move(m)) : std::nullopt;
}

std::optional<Gate> gate_from_json(const json::object& o) {
  const Reader r(o);
  Gate g;
  const bool ok =
      take(g.id, r.unsigned_integer("id")) && take(g.opened_by, r.string("opened_by")) &&
      take(g.expected, r.size("expected")) && take(g.quorum, r.size("quorum")) &&
      take(g.target, r.number("target")) && take(g.desired_play, r.boolean("desired_play")) &&
      take(g.opened_at, r.integer("opened_at")) && take(g.deadline, r.integer("deadline"));
  if (!ok) return std::nullopt;
  const auto* ready = r.find("ready");
  if (ready == nullptr || !ready->is_array()) return std::nullopt;
  g.ready.reserve(ready->get_array().size());
  for (const auto& user : ready->get_array()) {
    if (!user.is_string()) return std::nullopt;
    g.ready.emplace_back(user.get_string());
  }
  return g;
}

}  // namespace

// Written directly, not through a json::object: a snapshot is serialized for every journal
// write and every cluster commit, and building the tree first cost ~130 allocations for a
// room of 10. Non-finite numbers (JSON has none; a validated command cannot produce one)
// are written as 0, which keeps the snapshot readable.
std::string to_json_string(const RoomState& s) {
  protocol::JsonWriter w(512 + 320 * s.members.size());
  w.first_key("v").integer(kRoomCodecVersion);
  w.key("id").string(s.id);
  w.key("host_user_id").string(s.host_user_id);
  w.key("url").string(s.url);
  w.key("current_time").number(s.current_time);
  w.key("position_at").integer(s.position_at);
  w.key("is_playing").boolean(s.is_playing);
  w.key("guest_control_enabled").boolean(s.guest_control_enabled);
  w.key("pin_hash").string(s.pin_hash);
  w.key("members").begin_array();
  for (std::size_t i = 0; i < s.members.size(); ++i) {
    const Member& m = s.members[i];
    if (i != 0) w.comma();
    w.first_key("user_id").string(m.user_id);
    w.key("username").optional_string(m.username);
    w.key("join_seq").integer(m.join_seq);
    w.key("peer_id").string(m.peer_id);
    w.key("node_id").string(m.node_id);
    w.key("connected").boolean(m.connected);
    w.key("disconnected_at").integer(m.disconnected_at);
    w.key("last_heartbeat").integer(m.last_heartbeat);
    w.key("current_time").number(m.current_time);
    w.key("is_playing").boolean(m.is_playing);
    w.key("joined_at").integer(m.joined_at);
    w.key("capabilities").begin_array();
    bool first = true;
    for (const protocol::CapabilityName& known : protocol::kCapabilityNames) {
      if ((m.capabilities & known.bit) == 0) continue;
      if (!first) w.comma();
      first = false;
      w.string(known.name);
    }
    w.end_array();
    w.key("rtt_ms").number(m.rtt_ms);
    w.key("position_sampled_at").integer(m.position_sampled_at);
    if (!m.address.empty()) w.key("address").string(m.address);
    w.end_object();
  }
  w.end_array();
  w.key("gate");
  if (s.gate) {
    const Gate& g = *s.gate;
    w.first_key("id").integer(g.id);
    w.key("opened_by").string(g.opened_by);
    w.key("expected").integer(static_cast<std::uint64_t>(g.expected));
    w.key("quorum").integer(static_cast<std::uint64_t>(g.quorum));
    w.key("target").number(g.target);
    w.key("desired_play").boolean(g.desired_play);
    w.key("ready").begin_array();
    for (std::size_t i = 0; i < g.ready.size(); ++i) {
      if (i != 0) w.comma();
      w.string(g.ready[i]);
    }
    w.end_array();
    w.key("opened_at").integer(g.opened_at);
    w.key("deadline").integer(g.deadline);
    w.end_object();
  } else {
    w.null();
  }
  w.key("next_seq").integer(s.next_seq);
  w.key("created_at").integer(s.created_at);
  w.key("updated_at").integer(s.updated_at);
  w.key("version").integer(s.version);
  w.end_object();
  return w.take();
}

// The same document as a tree (the spill file nests it in its line), read back from the
// one writer above so that the two forms cannot drift apart.
json::object to_json(const RoomState& state) {
  return json::parse(to_json_string(state)).as_object();
}

std::optional<RoomState> room_state_from_json(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const Reader r(value.get_object());
  const auto version = r.integer("v");
  if (!version || *version != kRoomCodecVersion) return std::nullopt;

  RoomState s;
  const bool ok =
      take(s.id, r.string("id")) && take(s.host_user_id, r.string("host_user_id")) &&
      take(s.url, r.string("url")) && take(s.current_time, r.number("current_time")) &&
      take(s.position_at, r.integer("position_at")) &&
      take(s.is_playing, r.boolean("is_playing")) &&
      take(s.guest_control_enabled, r.boolean("guest_control_enabled")) &&
      take(s.pin_hash, r.string("pin_hash")) && take(s.next_seq, r.unsigned_integer("next_seq")) &&
      take(s.created_at, r.integer("created_at")) && take(s.updated_at, r.integer("updated_at")) &&
      take(s.version, r.unsigned_integer("version"));
  if (!ok || s.id.empty()) return std::nullopt;

  const auto* members = r.find("members");
  if (members == nullptr || !members->is_array()) return std::nullopt;
  s.members.reserve(members->get_array().size());
  for (const auto& item : members->get_array()) {
    auto member = member_from_json(item);
    if (!member) return std::nullopt;
    s.members.push_back(std::move(*member));
  }

  const auto* gate = r.find("gate");
  if (gate == nullptr) return std::nullopt;
  if (gate->is_object()) {
    s.gate = gate_from_json(gate->get_object());
    if (!s.gate) return std::nullopt;
  } else if (!gate->is_null()) {
    return std::nullopt;
  }
  return s;
}

std::optional<RoomState> room_state_from_json(std::string_view text) {
  json::error_code ec;
  const json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return std::nullopt;
  return room_state_from_json(value);
}

}  // namespace tandem::room
