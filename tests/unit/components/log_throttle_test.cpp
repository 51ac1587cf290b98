#include "obs/log_throttle.hpp"

#include <gtest/gtest.h>

namespace tandem::obs {
namespace {

TEST(LogThrottle, OneLinePerPeriodCarryingWhatItHeldBack) {
  LogThrottle throttle(10'000);
  std::uint64_t held = 99;
  EXPECT_TRUE(throttle.allow(1'000, held));
  EXPECT_EQ(held, 0U);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(throttle.allow(1'000 + i * 1000, held));
  EXPECT_FALSE(throttle.allow(10'999, held));
  EXPECT_TRUE(throttle.allow(11'000, held));
  EXPECT_EQ(held, 6U);
  EXPECT_TRUE(throttle.allow(30'000, held));
  EXPECT_EQ(held, 0U);
}

}  // namespace
}  // namespace tandem::obs
