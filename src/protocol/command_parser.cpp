#include "protocol/command_parser.hpp"

#include "protocol/json_numbers.hpp"
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
#include <type_traits>
#include <utility>
#include <variant>

namespace tandem::protocol {
namespace {

namespace json = boost::json;

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

constexpr const char* kNumbersMustBeFinite = "numbers must be finite (too large for a double)";

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

  // A non-negative integer a JavaScript client can count to exactly (CLOCK_* seq).
  std::uint64_t required_sequence(std::string_view key) {
    const json::value* value = find(key);
    if (value != nullptr && value->is_int64() && value->get_int64() >= 0 &&
        static_cast<std::uint64_t>(value->get_int64()) <= kMaxSequenceNumber) {
      return static_cast<std::uint64_t>(value->get_int64());
    }
    if (value != nullptr && value->is_uint64() && value->get_uint64() <= kMaxSequenceNumber) {
      return value->get_uint64();
    }
    fail(key, " must be an integer from 0 to 2^53");
    return 0;
  }

  double required_number(std::string_view key) {
    return required_number(key, false).value_or(0.0);
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

// JOIN.capabilities: an array of at most kMaxCapabilities strings. Names this server does
// not know are ignored (a newer client may know more); kAnnounced records that the list was
// there at all, so that the client gets the server's answer even when nothing matched.
Capabilities read_capabilities(FieldReader& reader) {
  constexpr std::string_view kRule = " must be an array of at most 32 strings of 1-64 characters";
  const json::value* value = reader.find("capabilities");
  if (value == nullptr) return 0;
  if (!value->is_array() || value->get_array().size() > kMaxCapabilities) {
    reader.fail("capabilities", kRule);
    return 0;
  }
  Capabilities capabilities = kAnnounced;
  for (const json::value& item : value->get_array()) {
    if (!item.is_string() || item.get_string().empty() ||
        item.get_string().size() > kMaxCapabilityLength) {
      reader.fail("capabilities", kRule);
      return 0;
    }
    capabilities |= capability_named(item.get_string());
  }
  return capabilities;
}

ParseResult parse(json::object& object, std::type_identity<Join> /*unused*/) {
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
  join.capabilities = read_capabilities(reader);
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{std::move(join)};
}

ParseResult parse(json::object& object, std::type_identity<UpdateUsername> /*unused*/) {
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

ParseResult parse(json::object& object, std::type_identity<ToggleGuestControl> /*unused*/) {
  FieldReader reader(object);
  ToggleGuestControl toggle;
  toggle.enabled = reader.required_bool("enabled");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{toggle};
}

ParseResult parse(json::object& object, std::type_identity<TransferHost> /*unused*/) {
  FieldReader reader(object);
  TransferHost transfer;
  transfer.target_user_id = reader.required_user_id("targetUserId");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{std::move(transfer)};
}

ParseResult parse(json::object& object, std::type_identity<PlayPause> /*unused*/) {
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

ParseResult parse(json::object& object, std::type_identity<Seek> /*unused*/) {
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

ParseResult parse(json::object& object, std::type_identity<Ready> /*unused*/) {
  FieldReader reader(object);
  Ready ready;
  ready.target_time = reader.optional_time("targetTime");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{ready};
}

ParseResult parse(json::object& object, std::type_identity<HostHeartbeat> /*unused*/) {
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

ParseResult parse(json::object& object, std::type_identity<PositionUpdate> /*unused*/) {
  FieldReader reader(object);
  PositionUpdate update;
  update.current_time = reader.required_time("currentTime");
  update.is_playing = reader.required_bool("isPlaying");
  update.sampled_at = reader.optional_number("sampledAt");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{update};
}

ParseResult parse(json::object& object, std::type_identity<UrlChange> /*unused*/) {
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

ParseResult parse(json::object& object, std::type_identity<RequestSync> /*unused*/) {
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
  if (kind == MessageType::answer) {
    payload_key = "answer";
  } else if (kind == MessageType::ice_candidate) {
    payload_key = "candidate";
    null_allowed = true;
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
  // Forwarded as received: a number that overflowed to infinity would go out as `Infinity`.
  if (!numbers_are_finite(object)) return bad_request(kNumbersMustBeFinite);
  relay.message = std::move(object);  // same memory resource: steals the storage, no copy
  return Command{std::move(relay)};
}

ParseResult parse(json::object& object, std::type_identity<ClockRequest> /*unused*/) {
  FieldReader reader(object);
  ClockRequest request;
  request.seq = reader.required_sequence("seq");
  request.client_time = reader.required_number("clientTime");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{request};
}

ParseResult parse(json::object& object, std::type_identity<ClockAck> /*unused*/) {
  FieldReader reader(object);
  ClockAck ack;
  ack.seq = reader.required_sequence("seq");
  if (reader.failed()) {
    return reader.take_error();
  }
  return Command{ack};
}

// Commands without fields.
ParseResult parse(json::object& /*object*/, std::type_identity<Leave> /*unused*/) {
  return Command{Leave{}};
}

ParseResult parse(json::object& /*object*/, std::type_identity<Ping> /*unused*/) {
  return Command{Ping{}};
}

// The parse() of the Command alternative whose kType is `type`, found at compile time among
// the alternatives (Relay and Fallback have none: several types, or any). False when no
// alternative has that type.
template <std::size_t... I>
bool parse_typed(MessageType type, json::object& object, std::optional<ParseResult>& result,
                 std::index_sequence<I...> /*unused*/) {
  const auto try_one = [&]<class T>(std::type_identity<T> tag) {
    if constexpr (requires { T::kType; }) {
      if (T::kType == type) {
        result = parse(object, tag);
        return true;
      }
    }
    return false;
  };
  return (try_one(std::type_identity<std::variant_alternative_t<I, Command>>{}) || ...);
}

bool is_relay(MessageType type) noexcept {
  return type == MessageType::offer || type == MessageType::answer ||
         type == MessageType::ice_candidate;
}

ParseResult parse_object(json::object& object) {
  const json::value* type_value = object.if_contains("type");
  if (type_value == nullptr || !type_value->is_string()) {
    return bad_request("type must be a string");
  }
  const json::string& type = type_value->get_string();
  if (const std::optional<MessageType> known = find_message_type(type)) {
    if (is_relay(*known)) return parse_relay(object, *known);
    std::optional<ParseResult> result;
    if (parse_typed(*known, object, result,
                    std::make_index_sequence<std::variant_size_v<Command>>{})) {
      return std::move(*result);
    }
    if (info(*known).sender == Sender::server) {
      // A broadcast "HOST_CHANGED" or "USER_LEFT" from a client would be believed by the
      // other members: only the server may send these.
      return bad_request(std::string("type ") + std::string(type) + " is reserved for the server");
    }
  } else if (!is_valid_fallback_type(type)) {
    return bad_request("type must be 1-64 characters of A-Z, a-z, 0-9 and _");
  }
  // Broadcast as received (see parse_relay).
  if (!numbers_are_finite(object)) return bad_request(kNumbersMustBeFinite);
  Fallback fallback;
  fallback.type.assign(type.data(), type.size());
  fallback.message = std::move(object);
  return Command{std::move(fallback)};
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

}  // namespace tandem::protocol
