// The node-local waits of PIN checks into a room under attack (cluster/pin_delays.hpp), on
// a real io_context with real (short) timers.
#include "cluster/pin_delays.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace tandem::cluster {
namespace {

using namespace std::chrono_literals;

TEST(PinDelays, OneWaitingCheckPerAddressRunsAfterItsDelay) {
  boost::asio::io_context io;
  PinDelays delays(io.get_executor());
  std::vector<ConnId> ran;
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(delays.start(1, "198.51.100.1", 30, [&] { ran.push_back(1); }));
  EXPECT_TRUE(delays.in_flight("198.51.100.1"));
  // A second connection from the same address does not wait in parallel.
  EXPECT_FALSE(delays.start(2, "198.51.100.1", 30, [&] { ran.push_back(2); }));
  // Another address does.
  ASSERT_TRUE(delays.start(3, "198.51.100.2", 30, [&] { ran.push_back(3); }));
  EXPECT_EQ(delays.size(), 2U);

  io.run_for(2s);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 30ms);
  EXPECT_EQ(ran, (std::vector<ConnId>{1, 3}));
  EXPECT_EQ(delays.size(), 0U);
  EXPECT_FALSE(delays.in_flight("198.51.100.1"));
}

TEST(PinDelays, ACancelledWaitNeverRunsAndFreesItsAddress) {
  boost::asio::io_context io;
  PinDelays delays(io.get_executor());
  int ran = 0;
  ASSERT_TRUE(delays.start(1, "a", 10, [&] { ++ran; }));
  delays.cancel(1);  // the connection closed
  EXPECT_FALSE(delays.in_flight("a"));
  ASSERT_TRUE(delays.start(2, "a", 10, [&] { ran += 10; }));
  delays.cancel(99);  // unknown: nothing happens
  io.run_for(2s);
  EXPECT_EQ(ran, 10);
}

TEST(PinDelays, ANewWaitOfTheSameConnectionReplacesItsOldOne) {
  boost::asio::io_context io;
  PinDelays delays(io.get_executor());
  std::vector<int> ran;
  ASSERT_TRUE(delays.start(1, "a", 10, [&] { ran.push_back(1); }));
  ASSERT_TRUE(delays.start(1, "a", 10, [&] { ran.push_back(2); }));
  io.run_for(2s);
  EXPECT_EQ(ran, std::vector<int>{2});
}

TEST(PinDelays, DestroyedWithWaitsPendingRunsNothing) {
  boost::asio::io_context io;
  int ran = 0;
  {
    PinDelays delays(io.get_executor());
    ASSERT_TRUE(delays.start(1, "a", 10, [&] { ++ran; }));
  }
  io.run_for(200ms);
  EXPECT_EQ(ran, 0);
}

}  // namespace
}  // namespace tandem::cluster
