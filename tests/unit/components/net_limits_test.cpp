// Small pure parts of the network layer's limits: the token bucket counting bytes, the
// accept back-off and its log limiter, the descriptor-limit plan, and the answers to
// requests that are not served (request_checks).
#include "net/accept_throttle.hpp"
#include "net/descriptor_limit.hpp"
#include "net/request_checks.hpp"
#include "net/token_bucket.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <gtest/gtest.h>

#include <limits>

namespace tandem::net {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;

TEST(TokenBucket, CountsBytes) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket bytes(1000, 4000, t0);  // 1000 B/s, 4000 B of burst
  EXPECT_TRUE(bytes.take(t0, 3000));
  EXPECT_FALSE(bytes.take(t0, 1001));  // refused whole: nothing is taken
  EXPECT_TRUE(bytes.take(t0, 1000));
  EXPECT_FALSE(bytes.take(t0, 1));
  EXPECT_FALSE(bytes.take(t0 + 499ms, 500));
  EXPECT_TRUE(bytes.take(t0 + 500ms, 500));
  // Refill stops at the burst.
  EXPECT_TRUE(bytes.take(t0 + 1h, 4000));
  EXPECT_FALSE(bytes.take(t0 + 1h, 1));
}

TEST(AcceptThrottle, BacksOffExponentiallyAndResetsOnSuccess) {
  AcceptThrottle throttle(10ms, 500ms, 10s);
  auto now = AcceptThrottle::Clock::now();
  std::vector<long> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(throttle.on_failure(now).delay.count());
  EXPECT_EQ(delays, (std::vector<long>{10, 20, 40, 80, 160, 320, 500, 500}));
  throttle.on_success();
  EXPECT_EQ(throttle.on_failure(now).delay.count(), 10);
}

TEST(AcceptThrottle, LogsAtOnceThenAtMostOncePerIntervalWithTheCount) {
  AcceptThrottle throttle(10ms, 500ms, 10s);
  const auto t0 = AcceptThrottle::Clock::now();
  auto first = throttle.on_failure(t0);
  ASSERT_TRUE(first.log);
  EXPECT_EQ(*first.log, 1u);
  // Failures within the interval are counted, not logged, successes in between included.
  for (int i = 1; i <= 99; ++i) {
    EXPECT_FALSE(throttle.on_failure(t0 + std::chrono::milliseconds(i * 90)).log) << i;
    if (i % 10 == 0) throttle.on_success();
  }
  const auto next = throttle.on_failure(t0 + 10s);
  ASSERT_TRUE(next.log);
  EXPECT_EQ(*next.log, 100u);  // the 99 unlogged ones and this one
  EXPECT_FALSE(throttle.on_failure(t0 + 19s).log);
  EXPECT_EQ(*throttle.on_failure(t0 + 20s).log, 2u);
}

TEST(DescriptorLimit, RaisesTheSoftLimitAsFarAsNeededAndAllowed) {
  constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(descriptors_needed(100'000, 1'024), 101'152u);
  EXPECT_EQ(plan_descriptor_limit(1'024, 1'048'576, 101'152), 101'152u);  // raised to need
  EXPECT_EQ(plan_descriptor_limit(1'024, 20'000, 101'152), 20'000u);      // up to the hard
  EXPECT_EQ(plan_descriptor_limit(1'024, kUnlimited, 5'000), 5'000u);
  EXPECT_EQ(plan_descriptor_limit(200'000, 1'048'576, 101'152), 200'000u);  // never lowered
  EXPECT_EQ(plan_descriptor_limit(1'024, 512, 5'000), 1'024u);  // a hard limit below soft
}

TEST(RequestChecks, ReadErrorsAreAnsweredByKind) {
  EXPECT_EQ(refusal_for_read_error(http::error::header_limit)->status,
            http::status::request_header_fields_too_large);
  EXPECT_EQ(refusal_for_read_error(http::error::body_limit)->status,
            http::status::payload_too_large);
  for (const auto error :
       {http::error::bad_line_ending, http::error::bad_method, http::error::bad_target,
        http::error::bad_version, http::error::bad_field, http::error::bad_value,
        http::error::bad_content_length, http::error::bad_transfer_encoding, http::error::bad_chunk,
        http::error::multiple_content_length}) {
    const auto refusal = refusal_for_read_error(error);
    ASSERT_TRUE(refusal) << boost::beast::error_code(error).message();
    EXPECT_EQ(refusal->status, http::status::bad_request);
  }
  // Nobody to answer.
  EXPECT_FALSE(refusal_for_read_error(http::error::end_of_stream));
  EXPECT_FALSE(refusal_for_read_error(http::error::partial_message));
  EXPECT_FALSE(refusal_for_read_error(boost::beast::error::timeout));
  EXPECT_FALSE(refusal_for_read_error(boost::asio::error::operation_aborted));
  EXPECT_FALSE(refusal_for_read_error(boost::asio::error::connection_reset));
}

http::request<http::string_body> request(unsigned version, std::vector<std::string> codings = {}) {
  http::request<http::string_body> req{http::verb::post, "/", version};
  for (auto& coding : codings) req.insert(http::field::transfer_encoding, coding);
  return req;
}

TEST(RequestChecks, OnlyHttp1AndTheChunkedCodingAreServed) {
  EXPECT_FALSE(refusal_for_request(request(11), false));
  EXPECT_FALSE(refusal_for_request(request(10), false));
  EXPECT_FALSE(refusal_for_request(request(11, {"chunked"}), true));
  EXPECT_FALSE(refusal_for_request(request(11, {"Chunked"}), true));
  EXPECT_EQ(refusal_for_request(request(20), false)->status, http::status::bad_request);
  EXPECT_EQ(refusal_for_request(request(9), false)->status, http::status::bad_request);
  EXPECT_EQ(refusal_for_request(request(11, {"gzip"}), false)->status, http::status::bad_request);
  EXPECT_EQ(refusal_for_request(request(11, {"chunked, gzip"}), false)->status,
            http::status::bad_request);
  EXPECT_EQ(refusal_for_request(request(11, {"gzip, chunked"}), true)->status,
            http::status::not_implemented);
  EXPECT_EQ(refusal_for_request(request(11, {"gzip", "chunked"}), true)->status,
            http::status::not_implemented);
  EXPECT_EQ(refusal_for_request(request(11, {"chunked", "chunked"}), true)->status,
            http::status::bad_request);
}

}  // namespace
}  // namespace tandem::net
