#include "net/client_address.hpp"

#include <charconv>

namespace tandem::net {

namespace ip = boost::asio::ip;

namespace {

bool is_port(std::string_view digits) noexcept {
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return !digits.empty() && ec == std::errc{} && end == digits.data() + digits.size() &&
         port <= 65535;
}

}  // namespace

std::optional<ip::address> parse_forwarded_element(std::string_view text) {
  text = trim_ows(text);
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {  // bracketed IPv6, optional port
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return std::nullopt;
    const auto address = parse_ip(text.substr(1, close - 1));
    if (!address || !address->is_v6()) return std::nullopt;
    return address;
  }
  // One colon: IPv4 with a port. More: a bare IPv6 address.
  const std::size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    if (!is_port(text.substr(colon + 1))) return std::nullopt;
    const auto address = parse_ip(text.substr(0, colon));
    if (!address || !address->is_v4()) return std::nullopt;
    return address;
  }
  return parse_ip(text);
}

ip::address resolve_client_address(const ip::address& peer, std::string_view forwarded_for,
                                   const AddressSet& trusted_proxies) {
  ip::address client = unmap(peer);
  if (!trusted_proxies.contains(client)) return client;
  // Right to left: each trusted hop vouches for the element before it.
  while (!trim_ows(forwarded_for).empty()) {
    const std::size_t comma = forwarded_for.rfind(',');
    const std::string_view element =
        comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1);
    forwarded_for =
        comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
    if (trim_ows(element).empty()) continue;  // "a,,b": an empty list element (RFC 9110 5.6.1)
    const auto address = parse_forwarded_element(element);
    if (!address) return client;
    client = *address;
    if (!trusted_proxies.contains(client)) return client;
  }
  return client;
}

}  // namespace tandem::net
