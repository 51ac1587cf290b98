#include "ice/ice_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tandem::ice {

namespace {

std::optional<IceUrl> fail(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return std::nullopt;
}

// A DNS name or a dotted IPv4 address (RFC 3986 reg-name, narrowed to what resolves):
// labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'.
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    const std::size_t dot = std::min(host.find('.', start), host.size());
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    const bool chars_ok = std::all_of(label.begin(), label.end(), [](unsigned char c) {
      return std::isalnum(c) != 0 || c == '-';
    });
    if (!chars_ok) return false;
    start = dot + 1;
  }
  return true;
}

bool is_ipv6(const std::string& text) {
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

}  // namespace

std::optional<IceUrl> IceUrl::parse(std::string_view text, Kind kind, std::string* why) {
  if (text.size() > kMaxLength) {
    return fail(why, "longer than " + std::to_string(kMaxLength) + " characters");
  }
  IceUrl url;
  url.text_ = std::string(text);
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail(why, "no scheme");
  url.scheme_ = std::string(text.substr(0, colon));
  const bool scheme_ok = kind == Kind::stun ? (url.scheme_ == "stun" || url.scheme_ == "stuns")
                                            : (url.scheme_ == "turn" || url.scheme_ == "turns");
  if (!scheme_ok) {
    return fail(why, kind == Kind::stun ? "the scheme must be stun: or stuns:"
                                        : "the scheme must be turn: or turns:");
  }
  std::string_view rest = text.substr(colon + 1);
  if (rest.substr(0, 2) == "//") return fail(why, "no \"//\" after the scheme (RFC 7064/7065)");

  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    if (kind == Kind::stun) return fail(why, "a stun: URL takes no query");
    const std::string_view query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    constexpr std::string_view kTransport = "transport=";
    if (query.substr(0, kTransport.size()) != kTransport) {
      return fail(why, "the only query is ?transport=udp or ?transport=tcp");
    }
    url.transport_ = std::string(query.substr(kTransport.size()));
    if (url.transport_ != "udp" && url.transport_ != "tcp") {
      return fail(why, "the transport must be udp or tcp");
    }
  }

  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail(why, "an unclosed [IPv6 address]");
    url.host_ = std::string(rest.substr(1, close - 1));
    if (!is_ipv6(url.host_)) return fail(why, "not an IPv6 address in [ ]");
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(why, "text after the ]");
      port_text = after.substr(1);
      if (port_text.empty()) return fail(why, "an empty port");
    }
  } else {
    const std::size_t port_colon = rest.find(':');
    url.host_ = std::string(rest.substr(0, port_colon));
    if (!is_host_name(url.host_)) return fail(why, "not a host name or IP address");
    if (port_colon != std::string_view::npos) {
      port_text = rest.substr(port_colon + 1);
      if (port_text.empty()) return fail(why, "an empty port");
    }
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    const char* end = port_text.data() + port_text.size();
    auto [p, ec] = std::from_chars(port_text.data(), end, value);
    if (ec != std::errc{} || p != end || value == 0 || value > 65535) {
      return fail(why, "the port must be 1-65535");
    }
    url.port_ = static_cast<std::uint16_t>(value);
  }
  return url;
}

std::optional<std::vector<IceUrl>> IceUrl::parse_list(std::string_view text, Kind kind,
                                                      std::string* why) {
  std::vector<IceUrl> out;
  const auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  if (trim(text).empty()) return out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = trim(text.substr(start, comma - start));
    if (out.size() == kMaxPerList) {
      if (why != nullptr) *why = "more than " + std::to_string(kMaxPerList) + " URLs";
      return std::nullopt;
    }
    std::string reason;
    auto url = parse(item, kind, &reason);
    if (!url) {
      if (why != nullptr) {
        // Appended piece by piece: GCC 12's -Wrestrict misfires on `"\"" + std::string`.
        why->assign(1, '"').append(item).append("\": ").append(reason);
      }
      return std::nullopt;
    }
    out.push_back(std::move(*url));
    start = comma + 1;
  }
  return out;
}

}  // namespace tandem::ice
