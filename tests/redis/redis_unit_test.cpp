// Pure parts of the redis library: URL parsing, backoff, reply helpers.
#include "redis/backoff.hpp"
#include "redis/redis_config.hpp"
#include "redis/reply.hpp"

#include <gtest/gtest.h>

namespace tandem::redis {
namespace {

using namespace std::chrono_literals;

TEST(RedisUrl, HostPortPasswordDb) {
  const auto c = parse_redis_url("redis://:s%3Acret@redis.example:6380/3");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "redis.example");
  EXPECT_EQ(c->port, 6380);
  EXPECT_EQ(c->password, "s:cret");
  EXPECT_EQ(c->username, "");
  EXPECT_EQ(c->db, 3);
}

TEST(RedisUrl, DefaultsAndVariants) {
  auto c = parse_redis_url("redis://localhost");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "localhost");
  EXPECT_EQ(c->port, 6379);
  EXPECT_EQ(c->db, 0);
  EXPECT_TRUE(c->password.empty());

  c = parse_redis_url("redis://alice:pw@10.0.0.1:7000/");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "pw");
  EXPECT_EQ(c->port, 7000);
  EXPECT_EQ(c->db, 0);

  c = parse_redis_url("redis://[::1]:6390/2");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 6390);
  EXPECT_EQ(c->db, 2);
}

TEST(RedisUrl, RejectsInvalid) {
  for (const char* url :
       {"http://localhost", "redis://", "redis://:6379", "redis://h:0", "redis://h:70000",
        "redis://h:x", "redis://h:", "redis://h/db", "redis://h/-1", "redis://pw@h",
        "redis://:%zz@h", "redis://[::1", "redis://:pw%4@h"}) {
    std::string error;
    EXPECT_FALSE(parse_redis_url(url, &error)) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
}

TEST(RedisBackoff, DoublesWithJitterUpToTheCap) {
  Backoff backoff(100ms, 5'000ms, 42);
  std::chrono::milliseconds base = 100ms;
  for (int i = 0; i < 20; ++i) {
    const auto delay = backoff.next();
    EXPECT_GE(delay, base / 2) << i;
    EXPECT_LE(delay, base) << i;
    base = std::min(base * 2, std::chrono::milliseconds(5'000));
  }
  EXPECT_EQ(backoff.base(), 5'000ms);
  backoff.reset();
  EXPECT_LE(backoff.next(), 100ms);
}

TEST(RedisBackoff, JitterSpreadsDelays) {
  Backoff a(1'000ms, 1'000ms, 1);
  Backoff b(1'000ms, 1'000ms, 2);
  int differ = 0;
  for (int i = 0; i < 10; ++i) differ += a.next() != b.next() ? 1 : 0;
  EXPECT_GT(differ, 5);
}

TEST(RedisReply, ErrorCodeAndDebugString) {
  EXPECT_EQ(Reply::from_error("NOSCRIPT No matching script").error_code(), "NOSCRIPT");
  EXPECT_EQ(Reply::from_error("DISCONNECTED").error_code(), "DISCONNECTED");
  EXPECT_EQ(Reply::from_string("x").error_code(), "");
  const Reply r = Reply::from_array(
      {Reply::from_integer(1), Reply::nil(), Reply::from_string("a"), Reply::from_status("OK")});
  EXPECT_EQ(to_debug_string(r), "[1, nil, \"a\", +OK]");
}

}  // namespace
}  // namespace tandem::redis
