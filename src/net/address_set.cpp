#include "net/address_set.hpp"

#include <charconv>

namespace tandem::net {

namespace ip = boost::asio::ip;

namespace {

// The first `prefix` bits of a and b agree.
bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix) noexcept {
  const unsigned whole = prefix / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// No bit past `prefix` is set.
bool host_bits_clear(const std::uint8_t* bytes, std::size_t size, unsigned prefix) noexcept {
  for (std::size_t bit = prefix; bit < size * 8; ++bit) {
    if ((bytes[bit / 8] >> (7 - bit % 8)) & 1) return false;
  }
  return true;
}

}  // namespace

std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

ip::address unmap(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::optional<ip::address> parse_ip(std::string_view text) {
  // make_address accepts a zone ("fe80::1%eth0"); a client address never carries one.
  if (text.empty() || text.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  const ip::address address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return unmap(address);
}

std::optional<AddressSet> AddressSet::parse(std::string_view text, std::string* why) {
  AddressSet set;
  const auto fail = [why](std::string_view item, std::string_view problem) {
    if (why != nullptr) {
      // Appended piece by piece: GCC 12's -Wrestrict misfires on "literal" + std::string.
      why->assign(1, '"');
      why->append(item);
      why->append("\": ");
      why->append(problem);
    }
    return std::nullopt;
  };
  if (trim_ows(text).empty()) return set;
  for (bool more = true; more;) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim_ows(text.substr(0, comma));
    more = comma != std::string_view::npos;
    text = more ? text.substr(comma + 1) : std::string_view{};
    if (item.empty()) return fail(item, "empty item");
    const std::size_t slash = item.find('/');
    const auto address = parse_ip(item.substr(0, slash));
    if (!address) return fail(item, "not an IPv4 or IPv6 address");
    Range range;
    range.v6 = address->is_v6();
    const std::size_t size = range.v6 ? 16 : 4;
    if (range.v6) {
      const auto bytes = address->to_v6().to_bytes();
      std::copy(bytes.begin(), bytes.end(), range.bytes.begin());
    } else {
      const auto bytes = address->to_v4().to_bytes();
      std::copy(bytes.begin(), bytes.end(), range.bytes.begin());
    }
    range.prefix = static_cast<unsigned>(size * 8);
    if (slash != std::string_view::npos) {
      // An IPv4-mapped range (::ffff:10.0.0.0/104) was unmapped to IPv4 by parse_ip: its
      // prefix counts the 96 mapping bits too.
      const bool mapped = !range.v6 && item.substr(0, slash).find(':') != std::string_view::npos;
      const unsigned max_prefix = mapped || range.v6 ? 128 : 32;
      const std::string_view digits = item.substr(slash + 1);
      unsigned prefix = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
          prefix > max_prefix) {
        return fail(
            item, max_prefix == 128 ? "prefix length must be 0-128" : "prefix length must be 0-32");
      }
      if (mapped) {
        if (prefix < 96) return fail(item, "an IPv4-mapped range needs a prefix of at least 96");
        prefix -= 96;
      }
      range.prefix = prefix;
      if (!host_bits_clear(range.bytes.data(), size, prefix)) {
        return fail(item, "bits are set past the prefix length");
      }
    }
    set.ranges_.push_back(range);
  }
  return set;
}

bool AddressSet::contains(const ip::address& raw) const noexcept {
  const ip::address address = unmap(raw);
  std::array<std::uint8_t, 16> bytes{};
  if (address.is_v6()) {
    const auto b = address.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  } else {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), bytes.begin());
  }
  for (const Range& range : ranges_) {
    if (range.v6 == address.is_v6() &&
        prefix_matches(range.bytes.data(), bytes.data(), range.prefix)) {
      return true;
    }
  }
  return false;
}

}  // namespace tandem::net
