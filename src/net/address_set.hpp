#pragma once
// A set of IP addresses and CIDR ranges, IPv4 and IPv6 ("10.0.0.0/8, 192.168.1.5, ::1,
// fd00::/8"): TRUSTED_PROXIES. Pure: parsing and matching, no IO. IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 peer) are matched
// as the IPv4 address they carry, so one entry covers both forms.
#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::net {

// `text` without the optional white space (RFC 9110 OWS: spaces and tabs) around it: the
// items of comma-separated lists (TRUSTED_PROXIES, X-Forwarded-For).
std::string_view trim_ows(std::string_view text) noexcept;

// "1.2.3.4" or "2001:db8::1" (no brackets, no port, no zone); IPv4-mapped IPv6 comes back
// as IPv4. nullopt when the text is not exactly one address.
std::optional<boost::asio::ip::address> parse_ip(std::string_view text);

// IPv4-mapped IPv6 -> IPv4; anything else unchanged.
boost::asio::ip::address unmap(const boost::asio::ip::address& address);

class AddressSet {
 public:
  AddressSet() = default;

  // Comma-separated addresses and ranges (white space around items ignored; empty = the
  // empty set). A range with bits set past its prefix ("10.0.0.1/8") is refused: it is
  // almost always a typo. On error: nullopt, and *why names the bad item.
  static std::optional<AddressSet> parse(std::string_view text, std::string* why = nullptr);

  bool contains(const boost::asio::ip::address& address) const noexcept;
  bool empty() const noexcept { return ranges_.empty(); }
  std::size_t size() const noexcept { return ranges_.size(); }

 private:
  struct Range {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4
    unsigned prefix = 0;                   // bits that must match
  };
  std::vector<Range> ranges_;
};

}  // namespace tandem::net
