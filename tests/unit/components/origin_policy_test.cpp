// ALLOWED_ORIGINS (net::OriginPolicy): parsing and verdicts, no sockets.
#include "net/origin_policy.hpp"

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

using Verdict = OriginPolicy::Verdict;
constexpr const char* kOwn = "http://localhost:4001";

OriginPolicy policy_of(std::string_view text) {
  std::string why;
  auto policy = OriginPolicy::parse(text, &why);
  EXPECT_TRUE(policy.has_value()) << text << ": " << why;
  return policy.value_or(OriginPolicy{});
}

std::string origin_refusal(std::string_view text) {
  std::string why;
  EXPECT_FALSE(OriginPolicy::parse(text, &why).has_value()) << text;
  return why;
}

TEST(OriginPolicy, WithoutAListEveryOriginIsLetInAndTheUnlistedAreNamed) {
  const OriginPolicy none = policy_of("");
  EXPECT_FALSE(none.configured());
  EXPECT_EQ(none.check("https://evil.example", kOwn), Verdict::unlisted);
  EXPECT_EQ(none.check("null", kOwn), Verdict::unlisted);
  EXPECT_EQ(none.check("", kOwn), Verdict::absent);
  EXPECT_EQ(none.check("HTTP://LOCALHOST:4001", kOwn), Verdict::allowed);  // its own pages
}

TEST(OriginPolicy, AListAllowsExactlyItsOriginsAndTheServersOwn) {
  const OriginPolicy list = policy_of(
      " https://tandem.watch/ ,chrome-extension://abcdefghijklmnopabcdefghijklmnop,"
      "http://[::1]:4001");
  EXPECT_TRUE(list.configured());
  EXPECT_EQ(list.check("https://tandem.watch", kOwn), Verdict::allowed);
  EXPECT_EQ(list.check("https://Tandem.Watch", kOwn), Verdict::allowed);
  EXPECT_EQ(list.check("chrome-extension://abcdefghijklmnopabcdefghijklmnop", kOwn),
            Verdict::allowed);
  EXPECT_EQ(list.check("http://[::1]:4001", kOwn), Verdict::allowed);
  EXPECT_EQ(list.check(kOwn, kOwn), Verdict::allowed);
  EXPECT_EQ(list.check("", kOwn), Verdict::absent);
  for (const char* other :
       {"http://tandem.watch", "https://tandem.watch:8443", "https://www.tandem.watch",
        "https://tandem.watch.evil.example", "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba",
        "null", "https://tandem.watch/path"}) {
    EXPECT_EQ(list.check(other, kOwn), Verdict::refused) << other;
  }
}

TEST(OriginPolicy, AWildcardAllowsAnyOrigin) {
  const OriginPolicy any = policy_of("*");
  EXPECT_TRUE(any.configured());
  EXPECT_EQ(any.check("https://evil.example", kOwn), Verdict::allowed);
  EXPECT_EQ(any.check("", kOwn), Verdict::absent);
}

TEST(OriginPolicy, ThingsThatAreNotOriginsAreRefusedWithTheReason) {
  EXPECT_NE(origin_refusal("tandem.watch").find("\"tandem.watch\""), std::string::npos);
  EXPECT_NE(origin_refusal("https://tandem.watch/app").find("no path"), std::string::npos);
  EXPECT_NE(origin_refusal("https://user@tandem.watch").find("no path"), std::string::npos);
  EXPECT_NE(origin_refusal("https://tandem.watch?x=1").find("no path"), std::string::npos);
  EXPECT_NE(origin_refusal("https://:443").find("no host"), std::string::npos);
  EXPECT_FALSE(origin_refusal("https://").empty());
  EXPECT_NE(origin_refusal("://tandem.watch").find("scheme"), std::string::npos);
  EXPECT_NE(origin_refusal("1http://tandem.watch").find("scheme"), std::string::npos);
  EXPECT_NE(origin_refusal("https://tandem.watch,,https://x.example").find("empty"),
            std::string::npos);
}

}  // namespace
}  // namespace tandem::net
