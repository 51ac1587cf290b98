// TRUSTED_PROXIES (AddressSet) and X-Forwarded-For resolution: pure functions, no sockets.
#include "net/client_address.hpp"
#include "net/address_set.hpp"

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

namespace ip = boost::asio::ip;

ip::address addr(const char* text) {
  return ip::make_address(text);
}

AddressSet set_of(std::string_view text) {
  std::string why;
  auto set = AddressSet::parse(text, &why);
  EXPECT_TRUE(set.has_value()) << text << ": " << why;
  return set.value_or(AddressSet{});
}

std::string address_refusal(std::string_view text) {
  std::string why;
  EXPECT_FALSE(AddressSet::parse(text, &why).has_value()) << text;
  return why;
}

TEST(AddressSet, ParsesAddressesAndRangesOfBothFamilies) {
  const AddressSet set = set_of(" 10.0.0.0/8, 192.168.1.5 ,2001:db8::/32,::1, 172.16.0.0/12 ");
  EXPECT_EQ(set.size(), 5u);
  EXPECT_TRUE(set.contains(addr("10.255.3.4")));
  EXPECT_TRUE(set.contains(addr("10.0.0.0")));
  EXPECT_FALSE(set.contains(addr("11.0.0.1")));
  EXPECT_TRUE(set.contains(addr("192.168.1.5")));
  EXPECT_FALSE(set.contains(addr("192.168.1.6")));
  EXPECT_TRUE(set.contains(addr("172.31.255.255")));
  EXPECT_FALSE(set.contains(addr("172.32.0.0")));
  EXPECT_TRUE(set.contains(addr("2001:db8:ffff::1")));
  EXPECT_FALSE(set.contains(addr("2001:db9::1")));
  EXPECT_TRUE(set.contains(addr("::1")));
  EXPECT_FALSE(set.contains(addr("::2")));
}

TEST(AddressSet, EmptyTextIsTheEmptySet) {
  EXPECT_TRUE(set_of("").empty());
  EXPECT_TRUE(set_of("  ").empty());
  EXPECT_FALSE(set_of("").contains(addr("127.0.0.1")));
}

TEST(AddressSet, PrefixesOfEveryLengthMatchBitByBit) {
  EXPECT_TRUE(set_of("0.0.0.0/0").contains(addr("203.0.113.9")));
  EXPECT_FALSE(set_of("0.0.0.0/0").contains(addr("2001:db8::1")));  // families apart
  EXPECT_TRUE(set_of("::/0").contains(addr("2001:db8::1")));
  EXPECT_TRUE(set_of("192.168.0.0/23").contains(addr("192.168.1.200")));
  EXPECT_FALSE(set_of("192.168.0.0/23").contains(addr("192.168.2.0")));
  EXPECT_TRUE(set_of("10.0.0.128/25").contains(addr("10.0.0.255")));
  EXPECT_FALSE(set_of("10.0.0.128/25").contains(addr("10.0.0.127")));
  EXPECT_TRUE(set_of("fe80::/10").contains(addr("febf::1")));
  EXPECT_FALSE(set_of("fe80::/10").contains(addr("fec0::1")));
  EXPECT_TRUE(set_of("2001:db8::1/128").contains(addr("2001:db8::1")));
  EXPECT_FALSE(set_of("2001:db8::1/128").contains(addr("2001:db8::2")));
}

TEST(AddressSet, IPv4MappedAddressesMatchTheirIPv4Entries) {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
  EXPECT_TRUE(set_of("10.0.0.0/8").contains(addr("::ffff:10.1.2.3")));
  EXPECT_TRUE(set_of("::ffff:10.0.0.0/104").contains(addr("10.1.2.3")));
  EXPECT_TRUE(set_of("::ffff:192.0.2.1").contains(addr("192.0.2.1")));
  EXPECT_FALSE(set_of("::ffff:10.0.0.0/104").contains(addr("11.0.0.1")));
}

TEST(AddressSet, RefusesWhatIsNotAnAddressOrRange) {
  EXPECT_NE(address_refusal("10.0.0.0/33").find("0-32"), std::string::npos);
  EXPECT_NE(address_refusal("::/129").find("0-128"), std::string::npos);
  EXPECT_NE(address_refusal("10.0.0.1/8").find("past the prefix"), std::string::npos);
  EXPECT_NE(address_refusal("10.0.0.0/8,,1.2.3.4").find("empty"), std::string::npos);
  EXPECT_NE(address_refusal("example.com").find("\"example.com\""), std::string::npos);
  address_refusal("10.0.0.0/");
  address_refusal("10.0.0.0/8x");
  address_refusal("10.0.0.0/-1");
  address_refusal("1.2.3");
  address_refusal("1.2.3.4.5");
  address_refusal("fe80::1%eth0");
  address_refusal("[::1]");
  address_refusal("::ffff:10.0.0.0/90");
  address_refusal("10.0.0.0/8,");
}

TEST(ParseIp, AcceptsOneAddressAndUnmapsIPv4) {
  EXPECT_EQ(parse_ip("203.0.113.7")->to_string(), "203.0.113.7");
  EXPECT_EQ(parse_ip("::ffff:203.0.113.7")->to_string(), "203.0.113.7");
  EXPECT_EQ(parse_ip("2001:DB8::1")->to_string(), "2001:db8::1");
  EXPECT_FALSE(parse_ip(""));
  EXPECT_FALSE(parse_ip(" 1.2.3.4"));
  EXPECT_FALSE(parse_ip("unknown"));
}

TEST(ForwardedElement, AcceptsAddressesWithOrWithoutPorts) {
  EXPECT_EQ(parse_forwarded_element(" 203.0.113.7 ")->to_string(), "203.0.113.7");
  EXPECT_EQ(parse_forwarded_element("203.0.113.7:51234")->to_string(), "203.0.113.7");
  EXPECT_EQ(parse_forwarded_element("2001:db8::5")->to_string(), "2001:db8::5");
  EXPECT_EQ(parse_forwarded_element("[2001:db8::5]")->to_string(), "2001:db8::5");
  EXPECT_EQ(parse_forwarded_element("[2001:db8::5]:443")->to_string(), "2001:db8::5");
  EXPECT_EQ(parse_forwarded_element("::ffff:198.51.100.2")->to_string(), "198.51.100.2");
  for (const char* bad : {"", "unknown", "_hidden", "203.0.113.7:", "203.0.113.7:70000",
                          "[2001:db8::5", "[2001:db8::5]x", "[203.0.113.7]", "1.2.3.4:80:1",
                          "\"203.0.113.7\"", "2001:db8::5:99999x"}) {
    EXPECT_FALSE(parse_forwarded_element(bad)) << bad;
  }
}

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItsHeaderSays) {
  const AddressSet none;
  EXPECT_EQ(resolve_client_address(addr("198.51.100.9"), "203.0.113.1", none).to_string(),
            "198.51.100.9");
  const AddressSet proxies = set_of("10.0.0.0/8");
  EXPECT_EQ(resolve_client_address(addr("198.51.100.9"), "203.0.113.1", proxies).to_string(),
            "198.51.100.9");
  EXPECT_EQ(resolve_client_address(addr("::ffff:198.51.100.9"), "", proxies).to_string(),
            "198.51.100.9");
}

TEST(ClientAddress, BehindTrustedProxiesTheRightMostUntrustedHopIsTheClient) {
  const AddressSet proxies = set_of("10.0.0.0/8, 2001:db8:ffff::/48");
  const auto resolve = [&](const char* peer, std::string_view xff) {
    return resolve_client_address(addr(peer), xff, proxies).to_string();
  };
  EXPECT_EQ(resolve("10.0.0.2", "203.0.113.7"), "203.0.113.7");
  // Forged entries on the left are never reached.
  EXPECT_EQ(resolve("10.0.0.2", "1.1.1.1, 8.8.8.8, 203.0.113.7"), "203.0.113.7");
  // Proxies in a chain are skipped, of either family, with ports.
  EXPECT_EQ(resolve("10.0.0.2", "203.0.113.7, 10.9.9.9:8080, [2001:db8:ffff::3]"), "203.0.113.7");
  EXPECT_EQ(resolve("10.0.0.2", "2001:db8::77, 10.1.1.1"), "2001:db8::77");
  // Several header lines joined in order, and empty list elements.
  EXPECT_EQ(resolve("10.0.0.2", "198.51.100.1,,203.0.113.8 , "), "203.0.113.8");
  // No header: the proxy itself is all that is known.
  EXPECT_EQ(resolve("10.0.0.2", ""), "10.0.0.2");
  // Every hop trusted: the left-most one.
  EXPECT_EQ(resolve("10.0.0.2", "10.0.0.3, 10.0.0.4"), "10.0.0.3");
  // A trusted proxy that wrote garbage: its own address is the answer, not what is left of it.
  EXPECT_EQ(resolve("10.0.0.2", "203.0.113.7, unknown"), "10.0.0.2");
  EXPECT_EQ(resolve("10.0.0.2", "203.0.113.7, garbage, 10.0.0.5"), "10.0.0.5");
}

}  // namespace
}  // namespace tandem::net
