#include "redis/slot_map.hpp"

#include "redis/hash_slot.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace tandem::redis {
namespace {

std::optional<SlotMap> no_map(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return std::nullopt;
}

std::optional<std::uint16_t> parse_slot(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value >= kSlotCount) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<SlotMap> SlotMap::from_cluster_slots(const Reply& reply, const std::string& asked_host,
                                                   std::string* error) {
  if (!reply.is_array()) return no_map(error, "CLUSTER SLOTS: " + to_debug_string(reply));
  constexpr std::uint16_t kNone = std::numeric_limits<std::uint16_t>::max();
  SlotMap map;
  map.owner_.assign(kSlotCount, kNone);
  for (const Reply& range : reply.elements) {
    // [start, end, [ip, port, id, ...], replicas...]
    if (!range.is_array() || range.elements.size() < 3 || !range.elements[0].is_integer() ||
        !range.elements[1].is_integer() || !range.elements[2].is_array() ||
        range.elements[2].elements.size() < 2 || !range.elements[2].elements[0].is_string() ||
        !range.elements[2].elements[1].is_integer()) {
      return no_map(error, "CLUSTER SLOTS: a malformed range");
    }
    const std::int64_t start = range.elements[0].integer;
    const std::int64_t end = range.elements[1].integer;
    const std::int64_t port = range.elements[2].elements[1].integer;
    if (start < 0 || end < start || end >= kSlotCount || port <= 0 || port > 65535) {
      return no_map(error, "CLUSTER SLOTS: a range out of bounds");
    }
    const std::string& ip = range.elements[2].elements[0].str;
    const Endpoint master{ip.empty() ? asked_host : ip, static_cast<std::uint16_t>(port)};
    auto it = std::find(map.masters_.begin(), map.masters_.end(), master);
    if (it == map.masters_.end()) it = map.masters_.insert(map.masters_.end(), master);
    const auto index = static_cast<std::uint16_t>(it - map.masters_.begin());
    std::fill(map.owner_.begin() + start, map.owner_.begin() + end + 1, index);
  }
  if (std::find(map.owner_.begin(), map.owner_.end(), kNone) != map.owner_.end()) {
    return no_map(error, "CLUSTER SLOTS: not every slot is served (cluster state not ok)");
  }
  return map;
}

void SlotMap::move(std::uint16_t slot, const Endpoint& to) {
  auto it = std::find(masters_.begin(), masters_.end(), to);
  if (it == masters_.end()) it = masters_.insert(masters_.end(), to);
  owner_[slot] = static_cast<std::uint16_t>(it - masters_.begin());
}

std::optional<Redirect> parse_redirect(const Reply& reply) {
  if (!reply.is_error()) return std::nullopt;
  // "<MOVED|ASK> <slot> <host>:<port>"
  const std::string_view text = reply.str;
  Redirect out;
  std::string_view rest;
  if (text.starts_with("MOVED ")) {
    rest = text.substr(6);
  } else if (text.starts_with("ASK ")) {
    out.ask = true;
    rest = text.substr(4);
  } else {
    return std::nullopt;
  }
  const auto space = rest.find(' ');
  const auto colon = rest.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space) {
    return std::nullopt;
  }
  const auto slot = parse_slot(rest.substr(0, space));
  auto host = rest.substr(space + 1, colon - space - 1);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  const auto to = make_endpoint(host, rest.substr(colon + 1));
  if (!slot || !to) return std::nullopt;
  out.slot = *slot;
  out.to = *to;
  return out;
}

}  // namespace tandem::redis
