#include "cluster/cluster_message.hpp"

#include "room/room_codec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace tandem::cluster {

namespace json = boost::json;

namespace {

std::string_view target_name(Target target) noexcept {
  switch (target) {
    case Target::all: return "all";
    case Target::except: return "ex";
    case Target::user: return "user";
    case Target::peer: return "peer";
  }
  return "all";
}

std::optional<Target> target_from(std::string_view name) noexcept {
  if (name == "all") return Target::all;
  if (name == "ex") return Target::except;
  if (name == "user") return Target::user;
  if (name == "peer") return Target::peer;
  return std::nullopt;
}

const json::string* string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

std::optional<std::uint64_t> uint_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* u = v->if_uint64()) return *u;
  if (const auto* i = v->if_int64(); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

}  // namespace

std::size_t MessageDelivery::variant_for(protocol::Capabilities recipient) const noexcept {
  const protocol::Capabilities key = recipient & protocol::kEncodingCapabilities;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    if (variants[i].first == key) return i + 1;
  }
  return 0;
}

std::string encode_message(const ClusterMessage& message) {
  return encode_message(message,
                        message.state ? room::to_json_string(*message.state) : std::string());
}

std::string encode_message(const ClusterMessage& message, std::string_view snapshot) {
  json::array deliveries;
  deliveries.reserve(message.deliveries.size());
  std::size_t frames_size = 0;
  for (const auto& d : message.deliveries) {
    json::object entry{{"a", target_name(d.target)}, {"t", d.type}, {"n", d.frame.size()}};
    if (!d.user.empty()) entry["u"] = d.user;
    if (!d.peer.empty()) entry["p"] = d.peer;
    if (!d.error_code.empty()) entry["e"] = d.error_code;
    frames_size += d.frame.size();
    if (!d.variants.empty()) {
      json::array variants;
      for (const auto& [capabilities, frame] : d.variants) {
        variants.push_back(json::object{{"c", capabilities}, {"n", frame.size()}});
        frames_size += frame.size();
      }
      entry["x"] = std::move(variants);
    }
    deliveries.push_back(std::move(entry));
  }
  json::object header{{"v", message.version}, {"s", message.sender}, {"d", std::move(deliveries)}};
  if (!message.closes.empty()) {
    json::array closes;
    for (const auto& c : message.closes) {
      closes.push_back(json::object{{"p", c.peer}, {"k", c.code}, {"r", c.reason}});
    }
    header["c"] = std::move(closes);
  }
  std::string out = json::serialize(header);
  out.push_back('\n');
  out += snapshot;
  out.push_back('\n');
  out.reserve(out.size() + frames_size);
  for (const auto& d : message.deliveries) {
    out += d.frame;
    for (const auto& variant : d.variants) out += variant.second;
  }
  return out;
}

std::optional<ClusterMessage> decode_message(std::string_view text) {
  const std::size_t first = text.find('\n');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = text.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;

  boost::system::error_code ec;
  json::value header_value = json::parse(text.substr(0, first), ec);
  if (ec || !header_value.is_object()) return std::nullopt;
  const json::object& header = header_value.get_object();

  ClusterMessage message;
  const auto version = uint_at(header, "v");
  const json::string* sender = string_at(header, "s");
  const json::value* deliveries = header.if_contains("d");
  if (!version || sender == nullptr || deliveries == nullptr || !deliveries->is_array()) {
    return std::nullopt;
  }
  message.version = *version;
  message.sender = std::string(*sender);

  const std::string_view state_text = text.substr(first + 1, second - first - 1);
  if (!state_text.empty()) {
    message.state = room::room_state_from_json(state_text);
    if (!message.state) return std::nullopt;
  }
  if (message.version == 0 && message.state.has_value()) return std::nullopt;

  std::string_view frames = text.substr(second + 1);
  for (const json::value& item : deliveries->get_array()) {
    const json::object* d = item.if_object();
    if (d == nullptr) return std::nullopt;
    const json::string* a = string_at(*d, "a");
    const json::string* t = string_at(*d, "t");
    const auto n = uint_at(*d, "n");
    if (a == nullptr || t == nullptr || !n || *n > frames.size()) return std::nullopt;
    const auto target = target_from(*a);
    if (!target) return std::nullopt;
    MessageDelivery delivery;
    delivery.target = *target;
    delivery.type = std::string(*t);
    if (const auto* u = string_at(*d, "u")) delivery.user = std::string(*u);
    if (const auto* p = string_at(*d, "p")) delivery.peer = std::string(*p);
    if (const auto* e = string_at(*d, "e")) delivery.error_code = std::string(*e);
    delivery.frame = std::string(frames.substr(0, *n));
    frames.remove_prefix(*n);
    if (const json::value* x = d->if_contains("x")) {
      if (!x->is_array()) return std::nullopt;
      for (const json::value& item : x->get_array()) {
        const json::object* v = item.if_object();
        const auto c = v != nullptr ? uint_at(*v, "c") : std::nullopt;
        const auto length = v != nullptr ? uint_at(*v, "n") : std::nullopt;
        if (!c || *c > 0xFFFFFFFFU || !length || *length > frames.size()) return std::nullopt;
        delivery.variants.emplace_back(static_cast<protocol::Capabilities>(*c),
                                       std::string(frames.substr(0, *length)));
        frames.remove_prefix(*length);
      }
    }
    message.deliveries.push_back(std::move(delivery));
  }
  if (!frames.empty()) return std::nullopt;
  if (const json::value* closes = header.if_contains("c")) {
    if (!closes->is_array()) return std::nullopt;
    for (const json::value& item : closes->get_array()) {
      const json::object* c = item.if_object();
      const json::string* p = c != nullptr ? string_at(*c, "p") : nullptr;
      const auto k = c != nullptr ? uint_at(*c, "k") : std::nullopt;
      const json::string* r = c != nullptr ? string_at(*c, "r") : nullptr;
      if (p == nullptr || !k || *k > 4999 || r == nullptr) return std::nullopt;
      message.closes.push_back(
          MessageClose{std::string(*p), static_cast<std::uint16_t>(*k), std::string(*r)});
    }
  }
  return message;
}

}  // namespace tandem::cluster
