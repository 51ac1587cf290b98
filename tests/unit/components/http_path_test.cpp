// The route table's matching (net/http_path.hpp): patterns, captures, limits.
#include "net/http_path.hpp"

#include <gtest/gtest.h>

namespace tandem {
namespace {

std::optional<std::vector<std::string>> match(std::string_view pattern, std::string_view path) {
  const auto parts = net::segments(path);
  std::vector<std::string_view> params{"stale"};
  if (!net::match_pattern(pattern, parts, params)) return std::nullopt;
  return std::vector<std::string>(params.begin(), params.end());
}

TEST(HttpPath, SegmentsIgnoreEmptyOnes) {
  EXPECT_EQ(net::segments("//room/abc//1234/"),
            (std::vector<std::string_view>{"room", "abc", "1234"}));
  EXPECT_TRUE(net::segments("/").empty());
  EXPECT_TRUE(net::segments("").empty());
}

TEST(HttpPath, LiteralPatternsMatchWholeSegments) {
  EXPECT_EQ(match("/health", "/health"), std::vector<std::string>{});
  EXPECT_EQ(match("/health", "//health/"), std::vector<std::string>{});
  EXPECT_FALSE(match("/health", "/healthz"));
  EXPECT_FALSE(match("/health", "/health/x"));
  EXPECT_FALSE(match("/api/dashboard/metrics", "/api/dashboard/status"));
  EXPECT_EQ(match("/", "/"), std::vector<std::string>{});
  EXPECT_FALSE(match("/", "/x"));
  EXPECT_FALSE(match("/x", "/"));
}

TEST(HttpPath, CapturesAreTheParamSegmentsInOrder) {
  EXPECT_EQ(match("/api/rooms/{roomId}/events", "/api/rooms/abc/events"),
            std::vector<std::string>{"abc"});
  EXPECT_FALSE(match("/api/rooms/{roomId}/events", "/api/rooms/abc/other"));
  EXPECT_FALSE(match("/api/rooms/{roomId}/events", "/api/rooms/events"));
  EXPECT_EQ(match("/room/{shortId}/{pin}", "/room/Ab3/1234/"),
            (std::vector<std::string>{"Ab3", "1234"}));
  EXPECT_FALSE(match("/room/{shortId}/{pin}", "/room/Ab3"));
  // A failed match leaves no capture behind.
  std::vector<std::string_view> params{"stale"};
  const auto parts = net::segments("/room");
  EXPECT_FALSE(net::match_pattern("/room/{shortId}", parts, params));
  EXPECT_TRUE(params.empty());
}

TEST(HttpPath, LimitIsAWholeNumberInRange) {
  EXPECT_EQ(net::limit_param("/status", 100, 1000), 100u);
  EXPECT_EQ(net::limit_param("/status?limit=1", 100, 1000), 1u);
  EXPECT_EQ(net::limit_param("/status?limit=1000", 100, 1000), 1000u);
  EXPECT_FALSE(net::limit_param("/status?limit=0", 100, 1000));
  EXPECT_FALSE(net::limit_param("/status?limit=1001", 100, 1000));
  EXPECT_FALSE(net::limit_param("/status?limit=12x", 100, 1000));
  EXPECT_FALSE(net::limit_param("/status?limit=-1", 100, 1000));
  EXPECT_FALSE(net::limit_param("/status?limit=", 100, 1000));
}

}  // namespace
}  // namespace tandem
