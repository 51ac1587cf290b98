#include "cluster/caching_pin_hasher.hpp"

#include <gtest/gtest.h>

namespace tandem::cluster {
namespace {

// Counts slow operations; "hash" is the PIN reversed so a test can craft stored hashes.
class CountingHasher final : public room::PinHasher {
 public:
  std::string hash(std::string_view pin) const override {
    ++hashes;
    return "slow$" + std::string(pin.rbegin(), pin.rend());
  }
  bool verify(std::string_view pin, std::string_view encoded) const override {
    ++verifies;
    return encoded == "slow$" + std::string(pin.rbegin(), pin.rend());
  }
  mutable int hashes = 0;
  mutable int verifies = 0;
};

TEST(CachingPinHasher, SlowHashOnlyOnFirstVerification) {
  CountingHasher slow;
  CachingPinHasher hasher(slow, 100);
  const std::string stored = "slow$4321";  // a room restored from disk: PIN 1234
  EXPECT_FALSE(hasher.verify("0000", stored));  // cold cache: slow, and not remembered
  EXPECT_EQ(slow.verifies, 1);
  EXPECT_TRUE(hasher.verify("1234", stored));
  EXPECT_EQ(slow.verifies, 2);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(hasher.verify("1234", stored));
    EXPECT_FALSE(hasher.verify("1235", stored));
    EXPECT_FALSE(hasher.verify("", stored));
  }
  EXPECT_EQ(slow.verifies, 2);  // warm: every later check is the fast one
}

TEST(CachingPinHasher, CreatedHashesAreWarmAtOnce) {
  CountingHasher slow;
  CachingPinHasher hasher(slow, 100);
  const std::string stored = hasher.hash("987654");
  EXPECT_EQ(stored, "slow$456789");
  EXPECT_TRUE(hasher.verify("987654", stored));
  EXPECT_FALSE(hasher.verify("987655", stored));
  EXPECT_EQ(slow.verifies, 0);
}

TEST(CachingPinHasher, EachStoredHashHasItsOwnVerifier) {
  CountingHasher slow;
  CachingPinHasher hasher(slow, 100);
  const std::string a = hasher.hash("1111");
  const std::string b = hasher.hash("2222");
  EXPECT_TRUE(hasher.verify("1111", a));
  EXPECT_FALSE(hasher.verify("2222", a));
  EXPECT_TRUE(hasher.verify("2222", b));
  EXPECT_FALSE(hasher.verify("1111", b));
}

TEST(CachingPinHasher, Bounded) {
  CountingHasher slow;
  CachingPinHasher hasher(slow, 3);
  for (int i = 0; i < 10; ++i) hasher.hash(std::to_string(1000 + i));
  EXPECT_LE(hasher.size(), 3u);
}

}  // namespace
}  // namespace tandem::cluster
