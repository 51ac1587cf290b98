#include "cluster/pbkdf2_pin_hasher.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

TEST(Pbkdf2PinHasher, VerifiesOnlyTheRightPin) {
  const Pbkdf2PinHasher hasher(1000);
  const std::string encoded = hasher.hash("4821");
  EXPECT_EQ(encoded.rfind("pbkdf2-sha256$1000$", 0), 0u);
  EXPECT_EQ(encoded.find("4821"), std::string::npos);
  EXPECT_TRUE(hasher.verify("4821", encoded));
  EXPECT_FALSE(hasher.verify("4822", encoded));
  EXPECT_FALSE(hasher.verify("", encoded));
}

TEST(Pbkdf2PinHasher, SaltedSoEqualPinsHashDifferently) {
  const Pbkdf2PinHasher hasher(1000);
  EXPECT_NE(hasher.hash("123456"), hasher.hash("123456"));
}

TEST(Pbkdf2PinHasher, ParametersTravelWithTheHash) {
  const std::string encoded = Pbkdf2PinHasher(2000).hash("9999");
  EXPECT_TRUE(Pbkdf2PinHasher(1000).verify("9999", encoded));
}

TEST(Pbkdf2PinHasher, MalformedEncodingsNeverVerify) {
  const Pbkdf2PinHasher hasher(1000);
  for (const char* bad : {"", "pbkdf2-sha256", "pbkdf2-sha256$x$00$00", "md5$1000$00$00",
                          "pbkdf2-sha256$1000$zz$00", "pbkdf2-sha256$0$00$00",
                          "pbkdf2-sha256$99999999999$00$00", "pbkdf2-sha256$1000$00$"}) {
    EXPECT_FALSE(hasher.verify("1234", bad)) << bad;
  }
}

}  // namespace
}  // namespace tandem::cluster
