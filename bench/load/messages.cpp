#include "messages.hpp"

#include "clock.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <fstream>
#include <stdexcept>

namespace tandem::bench {
namespace {

namespace json = boost::json;

constexpr std::string_view kPlaceholder = "1000000000000000";  // kStampBase, 16 digits

void write_stamp(char* at, std::int64_t send_ns) {
  std::int64_t value = kStampBase + (send_ns < 0 ? 0 : send_ns);
  if (value >= kStampMax) value = kStampMax - 1;
  for (int i = 15; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

std::string quoted(std::string_view text) { return json::serialize(json::string(text)); }

}  // namespace

Frame StampedTemplate::stamp(std::int64_t send_ns) const {
  auto out = std::make_shared<std::string>(text);
  write_stamp(out->data() + stamp_at, send_ns);
  return out;
}

std::string join_message(std::string_view room_id, std::string_view user_id,
                         std::string_view username) {
  std::string out = R"({"type":"JOIN","roomId":)";
  out += quoted(room_id);
  out += R"(,"userId":)";
  out += quoted(user_id);
  out += R"(,"username":)";
  out += quoted(username);
  out += '}';
  return out;
}

std::string leave_message() { return R"({"type":"LEAVE"})"; }

std::string ping_message() { return R"({"type":"PING","timestamp":1764254415000})"; }

StampedTemplate playback_template(std::string_view type, bool play) {
  StampedTemplate t;
  if (type == "HOST_HEARTBEAT") {
    t.text = R"({"type":"HOST_HEARTBEAT","currentTime":1510.02,"isPlaying":true,"eventTimestamp":)";
  } else {
    t.text = std::string(R"({"type":"PLAY_PAUSE","control":")") + (play ? "play" : "pause") +
             R"(","currentTime":734.217,"eventTimestamp":)";
  }
  t.stamp_at = t.text.size();
  t.text += kPlaceholder;
  t.text += '}';
  return t;
}

RelayTemplates::RelayTemplates(const std::string& examples_path) {
  std::ifstream in(examples_path);
  if (!in) throw std::runtime_error("cannot read " + examples_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json::value root = json::parse(text);
  bool found[3] = {false, false, false};
  for (const json::value& entry : root.at("messages").as_array()) {
    const json::object& msg = entry.at("msg").as_object();
    const std::string_view type = msg.at("type").as_string();
    int kind = -1;
    std::string_view payload_key;
    if (type == "OFFER") {
      kind = offer;
      payload_key = "offer";
    } else if (type == "ANSWER") {
      kind = answer;
      payload_key = "answer";
    } else if (type == "ICE_CANDIDATE") {
      kind = ice;
      payload_key = "candidate";
    }
    if (kind < 0 || found[kind]) continue;
    found[kind] = true;
    Parts& parts = parts_[kind];
    parts.head = R"({"type":)" + quoted(type) + R"(,"benchTs":)";
    // tail: `,"from":"` FROM `","to":"` TO `"` + the remaining members + `}`; from/to are
    // spliced in by make(), so the tail here starts after them.
    for (const json::key_value_pair& member : msg) {
      const std::string_view key = member.key();
      if (key == "type" || key == "from" || key == "to" || key == "userId" || key == "roomId") {
        continue;
      }
      parts.tail += ',';
      parts.tail += quoted(key);
      parts.tail += ':';
      parts.tail += json::serialize(member.value());
    }
    parts.tail += '}';
    if (const json::value* payload = msg.if_contains(payload_key); payload && payload->is_object()) {
      if (const json::value* sdp = payload->as_object().if_contains("sdp"); sdp && sdp->is_string()) {
        sdp_bytes_[kind] = sdp->as_string().size();
      }
    }
  }
  if (!found[offer] || !found[answer] || !found[ice]) {
    throw std::runtime_error(examples_path + ": needs an OFFER, an ANSWER and an ICE_CANDIDATE");
  }
}

Frame RelayTemplates::make(Kind kind, std::string_view from, std::string_view to,
                           std::int64_t send_ns) const {
  const Parts& parts = parts_[kind];
  auto out = std::make_shared<std::string>();
  out->reserve(parts.head.size() + kPlaceholder.size() + from.size() + to.size() + 20 +
               parts.tail.size());
  out->append(parts.head);
  const std::size_t at = out->size();
  out->append(kPlaceholder);
  write_stamp(out->data() + at, send_ns);
  out->append(R"(,"from":")").append(from).append(R"(","to":")").append(to).append("\"");
  out->append(parts.tail);
  return out;
}

std::string_view message_type(std::string_view frame) noexcept {
  constexpr std::string_view kPrefix = R"({"type":")";
  if (frame.substr(0, kPrefix.size()) != kPrefix) return {};
  frame.remove_prefix(kPrefix.size());
  const auto end = frame.find('"');
  return end == std::string_view::npos ? std::string_view{} : frame.substr(0, end);
}

std::optional<std::int64_t> find_integer(std::string_view frame, std::string_view key) noexcept {
  std::size_t from = 0;
  while (true) {
    const auto at = frame.find(key, from);
    if (at == std::string_view::npos) return std::nullopt;
    const std::size_t after = at + key.size();
    // "key": exactly (quote before, quote and colon after)
    if (at > 0 && frame[at - 1] == '"' && after + 1 < frame.size() && frame[after] == '"' &&
        frame[after + 1] == ':') {
      const char* begin = frame.data() + after + 2;
      const char* end = frame.data() + frame.size();
      std::int64_t value = 0;
      const auto result = std::from_chars(begin, end, value);
      if (result.ec != std::errc{}) return std::nullopt;
      if (result.ptr != end && (*result.ptr == '.' || *result.ptr == 'e' || *result.ptr == 'E')) {
        double as_double = 0;  // the server may write a large integer in exponent form
        if (std::from_chars(begin, end, as_double).ec != std::errc{}) return std::nullopt;
        return static_cast<std::int64_t>(as_double);
      }
      return value;
    }
    from = at + 1;
  }
}

std::optional<std::int64_t> find_stamp(std::string_view frame, std::string_view key) noexcept {
  const auto value = find_integer(frame, key);
  if (!value || *value < kStampBase || *value >= kStampMax) return std::nullopt;
  return *value - kStampBase;
}

}  // namespace tandem::bench
