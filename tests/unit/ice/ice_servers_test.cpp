// The iceServers list: STUN first, then TURN with a credential bound to the member.
#include "ice/ice_servers.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace tandem::ice {
namespace {

constexpr std::int64_t kIssuedAtMs = 1'700'000'000'000;

IceConfig config(const std::string& stun, const std::string& turn, std::string secret = "") {
  IceConfig c;
  c.stun_urls = *IceUrl::parse_list(stun, IceUrl::Kind::stun, nullptr);
  c.turn_urls = *IceUrl::parse_list(turn, IceUrl::Kind::turn, nullptr);
  c.turn_secret = std::move(secret);
  return c;
}

TEST(IceServers, StunThenTurnWithTheMembersCredential) {
  const IceServers servers(config("stun:s1.example:3478,stun:s2.example",
                                  "turn:t.example:3478?transport=udp,turns:t.example:5349",
                                  "north-wind-0123456789"));
  EXPECT_TRUE(servers.turn_enabled());
  const auto list = servers.build("alice", kIssuedAtMs);
  EXPECT_EQ(boost::json::serialize(list),
            R"([{"urls":["stun:s1.example:3478","stun:s2.example"]},)"
            R"({"urls":["turn:t.example:3478?transport=udp","turns:t.example:5349"],)"
            R"("username":"1700086400:alice","credential":"sY4RSwB0yp8hjRhoRv28NIl0FAw="}])");
  EXPECT_EQ(servers.expires_at_s(kIssuedAtMs), 1'700'086'400);
}

TEST(IceServers, WithoutTurnOnlyStun) {
  const IceServers servers(config("stun:s1.example", ""));
  EXPECT_FALSE(servers.turn_enabled());
  EXPECT_EQ(boost::json::serialize(servers.build("alice", kIssuedAtMs)),
            R"([{"urls":["stun:s1.example"]}])");
  EXPECT_FALSE(servers.expires_at_s(kIssuedAtMs));
}

TEST(IceServers, NothingConfiguredIsAnEmptyList) {
  const IceServers servers(config("", ""));
  EXPECT_TRUE(servers.build("alice", kIssuedAtMs).empty());
}

TEST(IceServers, TheSecretIsNeverInTheList) {
  const std::string secret = "a-secret-nobody-may-see";
  const IceServers servers(config("", "turn:t.example", secret));
  EXPECT_EQ(boost::json::serialize(servers.build("bob", kIssuedAtMs)).find(secret),
            std::string::npos);
}

}  // namespace
}  // namespace tandem::ice
