// The clock filter (lowest round trip of the last N) and the server's side of the clock
// exchange on one connection: the reply, the ACK timing, and when the room is told.
#include "room/clock_exchange.hpp"
#include "room/clock_filter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <variant>

namespace tandem::room {
namespace {

namespace pr = protocol;

TEST(ClockFilter, EmptyHasNoEstimate) {
  const ClockFilter filter;
  EXPECT_FALSE(filter.best().has_value());
}

TEST(ClockFilter, KeepsTheLowestRoundTripAndItsOffset) {
  ClockFilter filter(4);
  filter.add({310, 12});
  filter.add({280, -3});
  filter.add({295, 7});
  ASSERT_TRUE(filter.best());
  EXPECT_DOUBLE_EQ(filter.best()->rtt_ms, 280);
  EXPECT_DOUBLE_EQ(filter.best()->offset_ms, -3);
}

TEST(ClockFilter, TheBestSampleFallsOutOfTheWindow) {
  ClockFilter filter(3);
  filter.add({100, 1});  // best, and oldest
  filter.add({150, 2});
  filter.add({140, 3});
  EXPECT_DOUBLE_EQ(filter.best()->rtt_ms, 100);
  filter.add({160, 4});  // pushes the 100 out: the path got slower, the estimate follows
  EXPECT_EQ(filter.size(), 3U);
  EXPECT_DOUBLE_EQ(filter.best()->rtt_ms, 140);
  EXPECT_DOUBLE_EQ(filter.best()->offset_ms, 3);
}

TEST(ClockFilter, ATieKeepsTheEarlierSample) {
  ClockFilter filter;
  filter.add({50, 1});
  filter.add({50, 2});
  EXPECT_DOUBLE_EQ(filter.best()->offset_ms, 1);
}

TEST(ClockFilter, RefusesWhatCannotBeARoundTrip) {
  ClockFilter filter;
  EXPECT_FALSE(filter.add({-1, 0}));
  EXPECT_FALSE(filter.add({std::numeric_limits<double>::quiet_NaN(), 0}));
  EXPECT_FALSE(filter.add({std::numeric_limits<double>::infinity(), 0}));
  EXPECT_FALSE(filter.add({10, std::numeric_limits<double>::infinity()}));
  EXPECT_FALSE(filter.add({ClockFilter::kMaxRttMs + 1, 0}));
  EXPECT_EQ(filter.size(), 0U);
  EXPECT_TRUE(filter.add({0, 0}));  // loopback can round to nothing
}

TEST(ClockFilter, MovedNeedsFiveMillisecondsAndTenPercent) {
  EXPECT_FALSE(ClockFilter::moved(300, 320));  // 20 ms < 10 % of 320
  EXPECT_TRUE(ClockFilter::moved(300, 340));
  EXPECT_TRUE(ClockFilter::moved(300, 260));
  EXPECT_FALSE(ClockFilter::moved(0.4, 3));    // under 5 ms: loopback noise
  EXPECT_TRUE(ClockFilter::moved(0.4, 6));
}

// ---- ClockExchange -------------------------------------------------------------------

pr::Command ack(std::uint64_t seq) { return pr::Command{pr::ClockAck{seq}}; }

TEST(ClockExchange, ReplyEchoesTheRequestWithTheServerTimes) {
  ClockExchange exchange;
  const pr::ClockReplyEvent reply =
      exchange.answer(pr::ClockRequest{7, 123.25}, 1'700'000'000'000.5, 1'700'000'000'000.75, 10);
  EXPECT_EQ(reply.seq, 7U);
  EXPECT_DOUBLE_EQ(reply.client_time, 123.25);
  EXPECT_DOUBLE_EQ(reply.server_received, 1'700'000'000'000.5);
  EXPECT_DOUBLE_EQ(reply.server_sent, 1'700'000'000'000.75);
}

TEST(ClockExchange, TheAckOfTheLatestReplyTimesTheRoundTrip) {
  ClockExchange exchange;
  pr::Command join = pr::Command{pr::Join{}};
  ASSERT_TRUE(exchange.annotate(join, 0));
  EXPECT_FALSE(std::get<pr::Join>(join).server_rtt_ms.has_value());  // nothing measured yet

  exchange.answer(pr::ClockRequest{1, 0}, 0, 0, 1'000);
  pr::Command first = ack(1);
  ASSERT_TRUE(exchange.annotate(first, 1'300));  // first estimate: the room learns it
  EXPECT_EQ(std::get<pr::ClockAck>(first).server_rtt_ms, 300);
  EXPECT_EQ(exchange.estimate(), 300);
}

TEST(ClockExchange, AnAckOfAnOlderOrRepeatedReplyAddsNothing) {
  ClockExchange exchange;
  pr::Command join = pr::Command{pr::Join{}};
  exchange.annotate(join, 0);
  exchange.answer(pr::ClockRequest{1, 0}, 0, 0, 1'000);
  exchange.answer(pr::ClockRequest{2, 0}, 0, 0, 1'100);  // replaces the pending reply
  pr::Command stale = ack(1);
  EXPECT_FALSE(exchange.annotate(stale, 1'150));
  EXPECT_FALSE(exchange.estimate().has_value());
  pr::Command current = ack(2);
  EXPECT_TRUE(exchange.annotate(current, 1'160));
  EXPECT_EQ(exchange.estimate(), 60);
  pr::Command again = ack(2);  // a repeat would time from the same send: ignored
  EXPECT_FALSE(exchange.annotate(again, 5'000));
  EXPECT_EQ(exchange.estimate(), 60);
}

TEST(ClockExchange, OnlyAMeaningfulMoveReachesTheRoom) {
  ClockExchange exchange;
  pr::Command join = pr::Command{pr::Join{}};
  exchange.annotate(join, 0);
  double t = 0;
  const auto round_trip = [&](std::uint64_t seq, double rtt) {
    exchange.answer(pr::ClockRequest{seq, 0}, 0, 0, t);
    t += rtt;
    pr::Command command = ack(seq);
    const bool forwarded = exchange.annotate(command, t);
    t += 100;
    return forwarded ? std::get<pr::ClockAck>(command).server_rtt_ms : std::nullopt;
  };
  EXPECT_EQ(round_trip(1, 300), 300);       // first
  EXPECT_EQ(round_trip(2, 310), std::nullopt);  // the estimate stays 300
  EXPECT_EQ(round_trip(3, 290), std::nullopt);  // 290: moved 10 ms, under 10 %
  EXPECT_EQ(round_trip(4, 250), 250);       // a real improvement
}

TEST(ClockExchange, BeforeAJoinAcksStayHereAndTheJoinCarriesTheEstimate) {
  ClockExchange exchange;
  exchange.answer(pr::ClockRequest{1, 0}, 0, 0, 0);
  pr::Command early = ack(1);
  EXPECT_FALSE(exchange.annotate(early, 40));  // no member to tell yet
  pr::Command join = pr::Command{pr::Join{}};
  ASSERT_TRUE(exchange.annotate(join, 50));
  EXPECT_EQ(std::get<pr::Join>(join).server_rtt_ms, 40);
  // Reported with the JOIN: an ACK that does not move it stays here.
  exchange.answer(pr::ClockRequest{2, 0}, 0, 0, 100);
  pr::Command same = ack(2);
  EXPECT_FALSE(exchange.annotate(same, 141));
}

TEST(ClockExchange, OtherCommandsPassUntouched) {
  ClockExchange exchange;
  pr::Command ping = pr::Command{pr::Ping{}};
  EXPECT_TRUE(exchange.annotate(ping, 0));
  pr::Command position = pr::Command{pr::PositionUpdate{3.0, true}};
  EXPECT_TRUE(exchange.annotate(position, 0));
}

}  // namespace
}  // namespace tandem::room
