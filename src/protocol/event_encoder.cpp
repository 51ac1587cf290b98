// Event -> JSON text, written straight into one std::string: no intermediate json::value
// for the fixed-shape events, and the pass-through object is walked once without copying.
#include "protocol/event.hpp"
#include "protocol/json_writer.hpp"
#include "protocol/text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <variant>

namespace tandem::protocol {
namespace {

namespace json = boost::json;

// Upper-bound-ish size of a value's JSON text, so that a 10 KB SDP relay is written into one
// allocation instead of growing the string a dozen times. Strings get 1/16 more for their
// escapes (an SDP's CRLFs are ~3 %); text that escapes more only costs a reallocation.
std::size_t estimate_size(const json::value& value) noexcept;

std::size_t estimate_size(const json::object& object) noexcept {
  std::size_t size = 2;
  for (const json::key_value_pair& member : object) {
    size += member.key().size() + 4 + estimate_size(member.value());
  }
  return size;
}

std::size_t estimate_size(const json::value& value) noexcept {
  switch (value.kind()) {
    case json::kind::string:
      return value.get_string().size() + value.get_string().size() / 16 + 2;
    case json::kind::array: {
      std::size_t size = 2;
      for (const json::value& element : value.get_array()) {
        size += estimate_size(element) + 1;
      }
      return size;
    }
    case json::kind::object:
      return estimate_size(value.get_object());
    default:
      return 24;
  }
}

std::string_view control_name(Control control) noexcept {
  return control == Control::play ? "play" : "pause";
}

// Fixed-shape events: every key written in the order of PROTOCOL.md, type first; the keys
// of capabilities (docs/SYNC.md) after those, before "timestamp".
class Encoder {
 public:
  Encoder(Millis now, std::string_view node_id, Capabilities recipient) noexcept
      : now_(now), node_id_(node_id), recipient_(recipient) {}

  std::string operator()(const RoomStateEvent& e) const {
    std::size_t reserve = 256 + e.room_id.size() + e.url.size() + e.host_user_id.size();
    for (const MemberView& user : e.users) {
      reserve += 32 + user.user_id.size() + (user.username ? user.username->size() : 4);
    }
    JsonWriter w(reserve);
    w.begin_object("ROOM_STATE");
    w.key("roomId").string(e.room_id);
    w.key("url").string_or_null(e.url);
    w.key("currentTime").number(e.current_time);
    w.key("isPlaying").boolean(e.is_playing);
    w.key("hostUserId").string(e.host_user_id);
    w.key("guestControlEnabled").boolean(e.guest_control_enabled);
    w.key("users").raw("[");
    bool first = true;
    for (const MemberView& user : e.users) {
      w.raw(first ? R"({"userId":)" : R"(,{"userId":)");
      first = false;
      w.string(user.user_id);
      w.key("username").optional_string(user.username);
      w.end_object();
    }
    w.raw("]");
    w.key("nodeId").string(node_id_);
    if (e.answer_capabilities && (recipient_ & kAnnounced) != 0) {
      w.key("capabilities").begin_array();
      for (std::size_t i = 0; i < kCapabilityNames.size(); ++i) {
        if (i != 0) w.comma();
        w.string(kCapabilityNames[i].name);
      }
      w.end_array();
    }
    timeline(w, e.timeline);
    return finish(w);
  }

  std::string operator()(const UserJoinedEvent& e) const {
    JsonWriter w(128 + e.user_id.size() + e.peer_id.size() + e.username.value_or("").size());
    w.begin_object("USER_JOINED");
    w.key("userId").string(e.user_id);
    w.key("peerId").string(e.peer_id);
    w.key("username").optional_string(e.username);
    return finish(w);
  }

  std::string operator()(const UserLeftEvent& e) const {
    JsonWriter w(96 + e.user_id.size() + e.peer_id.size());
    w.begin_object("USER_LEFT");
    w.key("userId").string(e.user_id);
    w.key("peerId").string(e.peer_id);
    return finish(w);
  }

  std::string operator()(const HostChangedEvent& e) const {
    JsonWriter w(80 + e.host_user_id.size());
    w.begin_object("HOST_CHANGED");
    w.key("hostUserId").string(e.host_user_id);
    return finish(w);
  }

  std::string operator()(const GuestControlEvent& e) const {
    JsonWriter w(80);
    w.begin_object("GUEST_CONTROL");
    w.key("enabled").boolean(e.enabled);
    return finish(w);
  }

  std::string operator()(const UsernameUpdatedEvent& e) const {
    JsonWriter w(96 + e.user_id.size() + e.username.value_or("").size());
    w.begin_object("USERNAME_UPDATED");
    w.key("userId").string(e.user_id);
    w.key("username").optional_string(e.username);
    return finish(w);
  }

  std::string operator()(const PlayPauseEvent& e) const {
    JsonWriter w(160 + e.user_id.size());
    w.begin_object("PLAY_PAUSE");
    w.key("userId").string(e.user_id);
    w.key("control").string(control_name(e.control));
    if (e.current_time) {
      w.key("currentTime").number(*e.current_time);
    }
    if (e.event_timestamp) {
      w.key("eventTimestamp").number(*e.event_timestamp);
    }
    timeline(w, e.timeline);
    return finish(w);
  }

  std::string operator()(const SeekPauseEvent& e) const {
    JsonWriter w(160 + e.user_id.size());
    w.begin_object("SEEK_PAUSE");
    w.key("userId").string(e.user_id);
    w.key("currentTime").number(e.current_time);
    w.key("eventTimestamp").number(e.event_timestamp);
    return finish(w);
  }

  std::string operator()(const HostHeartbeatEvent& e) const {
    JsonWriter w(160 + e.user_id.size());
    w.begin_object("HOST_HEARTBEAT");
    w.key("userId").string(e.user_id);
    w.key("currentTime").number(e.current_time);
    w.key("isPlaying").boolean(e.is_playing);
    w.key("eventTimestamp").number(e.event_timestamp);
    timeline(w, e.timeline);
    return finish(w);
  }

  std::string operator()(const UrlChangeEvent& e) const {
    JsonWriter w(128 + e.user_id.size() + e.url.size());
    w.begin_object("URL_CHANGE");
    w.key("userId").string(e.user_id);
    w.key("url").string(e.url);
    w.key("currentTime").number(e.current_time);
    return finish(w);
  }

  std::string operator()(const SyncResponseEvent& e) const {
    JsonWriter w(160 + e.url.size());
    w.begin_object("SYNC_RESPONSE");
    w.key("fromUserId").string(kServerUserId);
    w.key("currentTime").number(e.current_time);
    w.key("isPlaying").boolean(e.is_playing);
    w.key("url").string_or_null(e.url);
    timeline(w, e.timeline);
    return finish(w);
  }

  std::string operator()(const PongEvent&) const {
    JsonWriter w(48);
    w.begin_object("PONG");
    return finish(w);
  }

  std::string operator()(const ClockReplyEvent& e) const {
    JsonWriter w(160);
    w.begin_object("CLOCK_REPLY");
    w.key("seq").integer(e.seq);
    w.key("clientTime").number(e.client_time);
    w.key("serverReceived").number(e.server_received);
    w.key("serverSent").number(e.server_sent);
    return finish(w);
  }

  // The only event without a timestamp (as in the old server).
  std::string operator()(const ErrorEvent& e) const {
    JsonWriter w(64 + e.message.size());
    w.begin_object("ERROR");
    w.key("message").string(e.message);
    w.key("code").string(to_string(e.code));
    w.end_object();
    return w.take();
  }

  // The client's object in its own key order, minus the keys the server overwrites, which
  // are appended at the end. The object is not copied.
  std::string operator()(const PassThroughEvent& e) const {
    JsonWriter w(estimate_size(e.message) + node_id_.size() + 48);
    w.raw("{");
    bool first = true;
    for (const json::key_value_pair& member : e.message) {
      const std::string_view name = member.key();
      if (name == "nodeId" || (e.add_timestamp && name == "timestamp")) {
        continue;
      }
      if (!first) {
        w.raw(",");
      }
      first = false;
      w.string(name);
      w.raw(":");
      w.value(member.value());
    }
    if (!first) {
      w.raw(",");
    }
    w.raw(R"("nodeId":)");
    w.string(node_id_);
    if (e.add_timestamp) {
      w.key("timestamp").integer(now_);
    }
    w.end_object();
    return w.take();
  }

 private:
  // scheduledPlayback: where the room's playback is, for members that follow it.
  void timeline(JsonWriter& w, const std::optional<Timeline>& timeline) const {
    if (!timeline || (recipient_ & kScheduledPlayback) == 0) return;
    w.key("position").number(timeline->position);
    if (timeline->playing) w.key("startAt").integer(timeline->start_at);
  }

  std::string finish(JsonWriter& w) const {
    w.key("timestamp").integer(now_);
    w.end_object();
    return w.take();
  }

  Millis now_;
  std::string_view node_id_;
  Capabilities recipient_;
};

bool has_capability_fields(const Event& event) noexcept {
  return std::visit(
      [](const auto& e) noexcept {
        if constexpr (requires { e.timeline; }) {
          return e.timeline.has_value();
        } else {
          return false;
        }
      },
      event);
}

}  // namespace

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::bad_request:
      return "BAD_REQUEST";
    case ErrorCode::invalid_json:
      return "INVALID_JSON";
    case ErrorCode::not_joined:
      return "NOT_JOINED";
    case ErrorCode::pin_required:
      return "PIN_REQUIRED";
    case ErrorCode::pin_locked:
      return "PIN_LOCKED";
    case ErrorCode::forbidden:
      return "FORBIDDEN";
    case ErrorCode::rate_limited:
      return "RATE_LIMITED";
    case ErrorCode::internal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

std::string encode(const Event& event, Millis now, std::string_view node_id,
                   Capabilities recipient) {
  return std::visit(Encoder(now, node_id, recipient), event);
}

Frame encode_frame(const Event& event, Millis now, std::string_view node_id,
                   Capabilities recipient) {
  return std::make_shared<const std::string>(encode(event, now, node_id, recipient));
}

Capabilities recipient_key(const Event& event, Capabilities recipient) noexcept {
  return has_capability_fields(event) ? (recipient & kEncodingCapabilities) : 0;
}

}  // namespace tandem::protocol
