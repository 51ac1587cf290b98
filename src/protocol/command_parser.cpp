#include "protocol/command_parser.hpp"

#include "protocol/limits.hpp"
#include "protocol/text.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <new>
#include <utility>
#include <variant>

namespace tandem::protocol {
namespace {

namespace json = boost::json;

enum class Kind {
  join,
  leave,
  ping,
  update_username,
  toggle_guest_control,
  transfer_host,
  play_pause,
  seek,
  ready,
  host_heartbeat,
  position_update,
  url_change,
  request_sync,
  offer,
  answer,
  ice_candidate,
  fallback,
};

struct KnownType {
  std::string_view name;
  Kind kind;
};

// Most frequent first: heartbeats, positions and pings dominate the traffic of a room.
constexpr std::array kKnownTypes{
    KnownType{"HOST_HEARTBEAT", Kind::host_heartbeat},
    KnownType{"POSITION_UPDATE", Kind::position_update},
    KnownType{"PING", Kind::ping},
    KnownType{"PLAY_PAUSE", Kind::play_pause},
    KnownType{"ICE_CANDIDATE", Kind::ice_candidate},
    KnownType{"SEEK", Kind::seek},
    KnownType{"READY", Kind::ready},
    KnownType{"REQUEST_SYNC", Kind::request_sync},
    KnownType{"JOIN", Kind::join},
    KnownType{"LEAVE", Kind::leave},
    KnownType{"UPDATE_USERNAME", Kind::update_username},
    KnownType{"TOGGLE_GUEST_CONTROL", Kind::toggle_guest_control},
    KnownType{"TRANSFER_HOST", Kind::transfer_host},
    KnownType{"URL_CHANGE", Kind::url_change},
    KnownType{"OFFER", Kind::offer},
    KnownType{"ANSWER", Kind::answer},
};

Kind find_kind(std::string_view type) noexcept {
  for (const KnownType& known : kKnownTypes) {
    if (known.name == type) {
      return known.kind;
    }
  }
  return Kind::fallback;
}

bool is_server_only_type(std::string_view type) noexcept {
  static constexpr std::string_view kServerOnly[] = {
      "ROOM_STATE",    "USER_JOINED", "USER_LEFT", "HOST_CHANGED", "GUEST_CONTROL",
      "USERNAME_UPDATED", "SEEK_PAUSE", "PONG",      "ERROR"};
  for (const auto reserved : kServerOnly) {
    if (type == reserved) return true;
  }
  return false;
}

bool is_valid_fallback_type(std::string_view type) noexcept {
  if (type.empty() || type.size() > kMaxTypeLength) {
    return false;
  }
  for (const char c : type) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// A JSON number as a double, or nullopt when it is not a number or not finite (Boost.JSON
// turns 1e400 into infinity rather than failing).
std::optional<double> finite_number(const json::value& value) noexcept {
  switch (value.kind()) {
    case json::kind::int64:
      return static_cast<double>(value.get_int64());
    case json::kind::uint64:
      return static_cast<double>(value.get_uint64());
    case json::kind::double_: {
      const double number = value.get_double();
      if (std::isfinite(number)) {
        return number;
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

ProtocolError bad_request(std::string message) {
  return ProtocolError{ErrorCode::bad_request, std::move(message)};
}

// Reads the fields of one message object. The first failed rule is kept as the error
// (later reads still run but cannot overwrite it), so each parse_x below reads all its
// fields and checks failed() once, which keeps them short and linear.
class FieldReader {
 public:
  explicit FieldReader(const json::object& object) noexcept : object_(object) {}

  bool failed() const noexcept { return error_.has_value(); }
  ProtocolError take_error() { return std::move(*error_); }

  // The field's value, or nullptr when it is missing or JSON null (both mean "absent").
  const json::value* find(std::string_view key) const noexcept {
    const json::value* value = object_.if_contains(key);
    if (value == nullptr || value->is_null()) {
      return nullptr;
    }
    return value;
  }

  double required_time(std::string_view key) { return required_number(key, true).value_or(0.0); }

  std::optional<double> optional_time(std::string_view key) { return optional_number(key, true); }

  std::optional<double> optional_number(std::string_view key, bool non_negative = false) {
    const json::value* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    return checked_number(key, *value, non_negative);
  }

  bool required_bool(std::string_view key) {
    const json::value* value = find(key);
    if (value == nullptr || !value->is_bool()) {
      fail(key, " must be a boolean");
      return false;
    }
    return value->get_bool();
  }

  std::optional<bool> optional_bool(std::string_view key) {
    const json::value* value = find(key);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_bool()) {
      fail(key, " must be a boolean");
      return std::nullopt;
    }
    return value->get_bool();
  }

  // A required string; nullptr (and the error recorded) when missing or not a string.
  const json::string* required_string(std::string_view key, std::string_view rule) {
    const json::value* value = find(key);
    if (value == nullptr || !value->is_string()) {
      fail(key, rule);
      return nullptr;
    }
    return &value->get_string();
  }

  std::string required_user_id(std::string_view key) {
    return required_identifier(key, kMaxUserIdLength,
                               " must be 1-100 characters of A-Z, a-z, 0-9, _ and -");
  }

  std::string required_room_id(std::string_view key) {
    return required_identifier(key, kMaxRoomIdLength,
                               " must be 1-50 characters of A-Z, a-z, 0-9, _ and -");
  }

  void fail(std::string_view key, std::string_view rule) {
    if (error_) {
      return;
    }
    std::string message;
    message.reserve(key.size() + rule.size());
    message.append(key).append(rule);
    error_ = bad_request(std::move(message));
  }

 private:
  std::optional<double> required_number(std::string_view key, bool non_negative) {
    const json::value* value = find(key);
    if (value == nullptr) {
      fail_number(key, non_negative);
      return std::nullopt;
    }
    return checked_number(key, *value, non_negative);
  }

  std::optional<double> checked_number(std::string_view key, const json::value& value,
                                       bool non_negative) {
    const std::optional<double> number = finite_number(value);
    if (!number || (non_negative && *number < 0)) {
      fail_number(key, non_negative);
      return std::nullopt;
    }
    return number;
  }

  void fail_number(std::string_view key, bool non_negative) {
    fail(key, non_negative ? " must be a finite number >= 0" : " must be a finite number");
  }

  std::string required_identifier(std::string_view key, std::size_t max_length,
                                  std::string_view rule) {
    const json::string* text = required_string(key, rule);
    if (text == nullptr) {
      return {};
    }
    if (!is_valid_identifier(*text, max_length)) {
      fail(key, rule);
      return {};
    }
    return {text->data(), text->size()};
  }

  const json::object& object_;
  std::optional<ProtocolError> error_;
};

constexpr std::string_view kPinRule = " must be a string of 4-12 digits";

// JOIN.pin: a string of 4-12 digits. Some clients build the pin from a numeric input and send
// it as a JSON integer; accept that when its decimal form has 4-12 digits (a pin with leading
// zeros cannot survive that trip, so such a pin simply fails the room's check as a wrong pin
// would). Fractions, exponents and negative numbers are rejected.
std::optional<std::string> read_pin(FieldReader& reader) {
  const json::value* value = reader.find("pin");
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_string()) {
    const json::string& text = value->get_string();
    if (text.empty()) {
      return std::nullopt;  // the client sends "" when the pin box is left empty
    }
    if (!is_valid_pin(text)) {
      reader.fail("pin", kPinRule);
      return std::nullopt;
    }
    return std::string(text.data(), text.size());
  }
  std::uint64_t number = 0;
  bool integral = false;
  if (value->is_int64() && value->get_int64() >= 0) {
    number = static_cast<std::uint64_t>(value->get_int64());
    integral = true;
  } else if (value->is_uint64()) {
    number = value->get_uint64();
    integral = true;
  }
  if (integral) {
    std::array<char, 24> digits{};
    const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), number);
    const std::string_view text(digits.data(),
                                static_cast<std::size_t>(result.ptr - digits.data()));
    if (is_valid_pin(text)) {
      return std::string(text);
    }
  }
  reader.fail("pin", kPinRule);
  return std::nullopt;
}

ParseResult parse_join(const json::object& object) {
  FieldReader reader(object);
  Join join;
  join.room_id = reader.required_room_id("roomId");
  join.user_id = reader.required_user_id("userId");
  if (is_reserved_user_id(join.user_id)) {
    reader.fail("userId", " \"server\" is reserved for the server");
  }
  if (const json::value* username = reader.find("username")) {
    if (username->is_string()) {
      join.username = sanitize_username(username->get_string());
    } else {
      reader.fail("username", " must be a string");
    }
  }
  join.pin = read_pin(reader);
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{std::move(join)};
}

ParseResult parse_update_username(const json::object& object) {
  // The field is required, but null is accepted: it clears the name.
  const json::value* username = object.if_contains("username");
  if (username == nullptr || !(username->is_string() || username->is_null())) {
    return bad_request("username must be a string");
  }
  UpdateUsername update;
  if (username->is_string()) {
    update.username = sanitize_username(username->get_string());
  }
  return Command{std::move(update)};
}

ParseResult parse_toggle_guest_control(const json::object& object) {
  FieldReader reader(object);
  ToggleGuestControl toggle;
  toggle.enabled = reader.required_bool("enabled");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{toggle};
}

ParseResult parse_transfer_host(const json::object& object) {
  FieldReader reader(object);
  TransferHost transfer;
  transfer.target_user_id = reader.required_user_id("targetUserId");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{std::move(transfer)};
}

ParseResult parse_play_pause(const json::object& object) {
  constexpr std::string_view kControlRule = R"( must be "play" or "pause")";
  FieldReader reader(object);
  PlayPause play_pause;
  if (const json::string* control = reader.required_string("control", kControlRule)) {
    if (*control == "play") {
      play_pause.control = Control::play;
    } else if (*control == "pause") {
      play_pause.control = Control::pause;
    } else {
      reader.fail("control", kControlRule);
    }
  }
  play_pause.current_time = reader.optional_time("currentTime");
  play_pause.event_timestamp = reader.optional_number("eventTimestamp");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{play_pause};
}

ParseResult parse_seek(const json::object& object) {
  FieldReader reader(object);
  Seek seek;
  seek.current_time = reader.required_time("currentTime");
  seek.is_playing = reader.required_bool("isPlaying");
  seek.event_timestamp = reader.optional_number("eventTimestamp");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{seek};
}

ParseResult parse_ready(const json::object& object) {
  FieldReader reader(object);
  Ready ready;
  ready.target_time = reader.optional_time("targetTime");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{ready};
}

ParseResult parse_host_heartbeat(const json::object& object) {
  FieldReader reader(object);
  HostHeartbeat heartbeat;
  heartbeat.current_time = reader.required_time("currentTime");
  heartbeat.is_playing = reader.required_bool("isPlaying");
  heartbeat.event_timestamp = reader.optional_number("eventTimestamp");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{heartbeat};
}

ParseResult parse_position_update(const json::object& object) {
  FieldReader reader(object);
  PositionUpdate update;
  update.current_time = reader.required_time("currentTime");
  update.is_playing = reader.required_bool("isPlaying");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{update};
}

ParseResult parse_url_change(const json::object& object) {
  constexpr std::string_view kUrlRule = " must be an http:// or https:// URL of at most 2048 bytes";
  FieldReader reader(object);
  UrlChange change;
  if (const json::string* url = reader.required_string("url", kUrlRule)) {
    if (is_valid_url(*url)) {
      change.url.assign(url->data(), url->size());
    } else {
      reader.fail("url", kUrlRule);
    }
  }
  change.current_time = reader.optional_time("currentTime");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{std::move(change)};
}

ParseResult parse_request_sync(const json::object& object) {
  FieldReader reader(object);
  RequestSync sync;
  sync.respect_auto_play = reader.optional_bool("respectAutoPlay").value_or(false);
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{sync};
}

// OFFER / ANSWER / ICE_CANDIDATE. The payload must be an object (an RTCSessionDescription or
// RTCIceCandidate as JSON). ICE_CANDIDATE also accepts an explicit null candidate: that is how
// WebRTC reports the end of gathering, a client that forwards it verbatim is not wrong, and
// relaying it costs nothing (the receiver decides what to do with it). A missing payload is
// still rejected: it is a client bug, and the receiver could do nothing useful with it.
ParseResult parse_relay(json::object& object, RelayKind kind) {
  std::string_view payload_key = "offer";
  bool null_allowed = false;
  switch (kind) {
    case RelayKind::offer:
      break;
    case RelayKind::answer:
      payload_key = "answer";
      break;
    case RelayKind::ice_candidate:
      payload_key = "candidate";
      null_allowed = true;
      break;
  }
  FieldReader reader(object);
  Relay relay;
  relay.kind = kind;
  relay.to = reader.required_user_id("to");
  if (reader.failed()) {
    return reader.take_error();
  }
  const json::value* payload = object.if_contains(payload_key);
  if (payload == nullptr || !(payload->is_object() || (null_allowed && payload->is_null()))) {
    reader.fail(payload_key, null_allowed ? " must be an object or null" : " must be an object");
    return reader.take_error();
  }
  relay.message = std::move(object);  // same memory resource: steals the storage, no copy
  return Command{std::move(relay)};
}

ParseResult parse_object(json::object& object) {
  const json::value* type_value = object.if_contains("type");
  if (type_value == nullptr || !type_value->is_string()) {
    return bad_request("type must be a string");
  }
  const json::string& type = type_value->get_string();
  switch (find_kind(type)) {
    case Kind::join:
      return parse_join(object);
    case Kind::leave:
      return Command{Leave{}};
    case Kind::ping:
      return Command{Ping{}};
    case Kind::update_username:
      return parse_update_username(object);
    case Kind::toggle_guest_control:
      return parse_toggle_guest_control(object);
    case Kind::transfer_host:
      return parse_transfer_host(object);
    case Kind::play_pause:
      return parse_play_pause(object);
    case Kind::seek:
      return parse_seek(object);
    case Kind::ready:
      return parse_ready(object);
    case Kind::host_heartbeat:
      return parse_host_heartbeat(object);
    case Kind::position_update:
      return parse_position_update(object);
    case Kind::url_change:
      return parse_url_change(object);
    case Kind::request_sync:
      return parse_request_sync(object);
    case Kind::offer:
      return parse_relay(object, RelayKind::offer);
    case Kind::answer:
      return parse_relay(object, RelayKind::answer);
    case Kind::ice_candidate:
      return parse_relay(object, RelayKind::ice_candidate);
    case Kind::fallback:
      break;
  }
  if (!is_valid_fallback_type(type)) {
    return bad_request("type must be 1-64 characters of A-Z, a-z, 0-9 and _");
  }
  if (is_server_only_type(type)) {
    // A broadcast "HOST_CHANGED" or "USER_LEFT" from a client would be believed by the
    // other members: only the server may send these. (SYNC_RESPONSE stays a fallback: the
    // contract names it, clients answer each other's sync requests with it.)
    return bad_request(std::string("type ") + std::string(type) + " is reserved for the server");
  }
  Fallback fallback;
  fallback.type.assign(type.data(), type.size());
  fallback.message = std::move(object);
  return Command{std::move(fallback)};
}

// std::visit for a visitor returning string_view, minus the bad_variant_access path, so the
// *_type() functions can be noexcept: a valueless variant (possible only after a throwing
// assignment) simply has no name.
template <class Variant, class Visitor, std::size_t... I>
std::string_view visit_name(const Variant& variant, const Visitor& visitor,
                            std::index_sequence<I...> /*unused*/) noexcept {
  std::string_view name;
  (void)((variant.index() == I && (name = visitor(*std::get_if<I>(&variant)), true)) || ...);
  return name;
}

template <class Variant, class Visitor>
std::string_view visit_name(const Variant& variant, const Visitor& visitor) noexcept {
  return visit_name(variant, visitor, std::make_index_sequence<std::variant_size_v<Variant>>{});
}

}  // namespace

ParseResult parse_command(std::string_view text) {
  try {
    json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    // The parser's working stack starts in this buffer, so a typical message parses without
    // a temporary heap allocation. The value itself uses the default resource: relays and
    // fallbacks move its object out and keep it after this function returns.
    unsigned char temp[1024];
    json::parser parser(json::storage_ptr(), options, temp);
    json::error_code ec;
    parser.write(text.data(), text.size(), ec);
    if (ec) {
      if (ec == json::error::too_deep) {
        return ProtocolError{ErrorCode::invalid_json, "JSON nested too deeply"};
      }
      return ProtocolError{ErrorCode::invalid_json, "Invalid JSON"};
    }
    json::value value = parser.release();
    if (!value.is_object()) {
      return ProtocolError{ErrorCode::invalid_json, "Message must be a JSON object"};
    }
    return parse_object(value.get_object());
  } catch (const std::bad_alloc&) {
    return ProtocolError{ErrorCode::internal, "Out of memory"};
  } catch (...) {
    // Boost.JSON reports parse errors through `ec`; anything thrown is a resource problem.
    return ProtocolError{ErrorCode::internal, "Internal error"};
  }
}

std::string_view command_type(const Command& command) noexcept {
  struct Visitor {
    std::string_view operator()(const Join&) const noexcept { return "JOIN"; }
    std::string_view operator()(const Leave&) const noexcept { return "LEAVE"; }
    std::string_view operator()(const Ping&) const noexcept { return "PING"; }
    std::string_view operator()(const UpdateUsername&) const noexcept { return "UPDATE_USERNAME"; }
    std::string_view operator()(const ToggleGuestControl&) const noexcept {
      return "TOGGLE_GUEST_CONTROL";
    }
    std::string_view operator()(const TransferHost&) const noexcept { return "TRANSFER_HOST"; }
    std::string_view operator()(const PlayPause&) const noexcept { return "PLAY_PAUSE"; }
    std::string_view operator()(const Seek&) const noexcept { return "SEEK"; }
    std::string_view operator()(const Ready&) const noexcept { return "READY"; }
    std::string_view operator()(const HostHeartbeat&) const noexcept { return "HOST_HEARTBEAT"; }
    std::string_view operator()(const PositionUpdate&) const noexcept { return "POSITION_UPDATE"; }
    std::string_view operator()(const UrlChange&) const noexcept { return "URL_CHANGE"; }
    std::string_view operator()(const RequestSync&) const noexcept { return "REQUEST_SYNC"; }
    std::string_view operator()(const Relay& relay) const noexcept {
      switch (relay.kind) {
        case RelayKind::offer:
          return "OFFER";
        case RelayKind::answer:
          return "ANSWER";
        case RelayKind::ice_candidate:
          return "ICE_CANDIDATE";
      }
      return "OFFER";
    }
    std::string_view operator()(const Fallback& fallback) const noexcept { return fallback.type; }
  };
  return visit_name(command, Visitor{});
}

}  // namespace tandem::protocol
