// TURN REST credentials: a known answer computed with the openssl command line, the expiry,
// and the binding to the userId.
#include "ice/turn_credentials.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tandem::ice {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kNowMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
const std::string kSecret = "north-wind-0123456789";

TEST(TurnCredentials, MatchesAnIndependentlyComputedHmac) {
  // Computed independently with OpenSSL's command line, not with this code:
  //   printf '%s' '1700086400:alice' | openssl dgst -sha1 -hmac 'north-wind-0123456789'
  //     -binary | openssl base64 -A
  //   -> sY4RSwB0yp8hjRhoRv28NIl0FAw=
  const TurnCredentials credentials(kSecret, seconds(86'400));
  const TurnCredential c = credentials.make("alice", kNowMs);
  EXPECT_EQ(c.username, "1700086400:alice");
  EXPECT_EQ(c.credential, "sY4RSwB0yp8hjRhoRv28NIl0FAw=");
  EXPECT_EQ(c.expires_at_s, 1'700'086'400);
}

TEST(TurnCredentials, ExpiryIsNowPlusTheTtlInUnixSeconds) {
  const TurnCredentials credentials(kSecret, seconds(60));
  // Milliseconds are dropped, not rounded up: a credential never outlives now + ttl.
  const TurnCredential c = credentials.make("alice", kNowMs + 999);
  EXPECT_EQ(c.expires_at_s, 1'700'000'060);
  EXPECT_EQ(c.username, "1700000060:alice");
  EXPECT_EQ(credentials.make("alice", kNowMs + 1'000).expires_at_s, 1'700'000'061);
}

TEST(TurnCredentials, EachUserIdGetsItsOwnCredential) {
  // openssl dgst as above, with '1700086400:bob' -> qI6nSJDQKdGGIIWR5BPNx+y2bzw=
  const TurnCredentials credentials(kSecret, seconds(86'400));
  const TurnCredential alice = credentials.make("alice", kNowMs);
  const TurnCredential bob = credentials.make("bob", kNowMs);
  EXPECT_EQ(bob.username, "1700086400:bob");
  EXPECT_EQ(bob.credential, "qI6nSJDQKdGGIIWR5BPNx+y2bzw=");
  EXPECT_NE(alice.credential, bob.credential);
  // Another secret, another credential for the same username.
  const TurnCredentials other(kSecret + "x", seconds(86'400));
  EXPECT_NE(other.make("alice", kNowMs).credential, alice.credential);
}

TEST(TurnCredentials, AUserIdMayHoldAnyText) {
  // userIds come from clients (PROTOCOL.md); coturn takes everything after the first ':'.
  const TurnCredentials credentials(kSecret, seconds(10));
  const TurnCredential c = credentials.make("a:b élan", kNowMs);
  EXPECT_EQ(c.username, "1700000010:a:b élan");
  EXPECT_EQ(c.credential.size(), 28u);  // base64 of 20 bytes
}

TEST(TurnCredentials, AShortSecretOrNoTtlIsRefused) {
  EXPECT_THROW(TurnCredentials("0123456789abcde", seconds(60)), std::invalid_argument);
  EXPECT_NO_THROW(TurnCredentials("0123456789abcdef", seconds(60)));
  EXPECT_THROW(TurnCredentials(kSecret, seconds(0)), std::invalid_argument);
}

}  // namespace
}  // namespace tandem::ice
