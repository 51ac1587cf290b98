// STUN and TURN URLs (RFC 7064, RFC 7065): what a browser's RTCPeerConnection accepts.
#include "ice/ice_url.hpp"

#include <gtest/gtest.h>

namespace tandem::ice {
namespace {

using Kind = IceUrl::Kind;

TEST(IceUrl, GoodTurnUrls) {
  for (const char* text :
       {"turn:turn.example.org", "turn:turn.example.org:3478", "turns:turn.example.org:5349",
        "turn:192.0.2.7:3478?transport=udp", "turn:turn.example.org?transport=tcp",
        "turns:[2001:db8::1]:443?transport=tcp", "turn:[::1]", "turn:localhost:65535"}) {
    std::string why;
    EXPECT_TRUE(IceUrl::parse(text, Kind::turn, &why)) << text << ": " << why;
  }
  const auto url = IceUrl::parse("turns:[2001:db8::1]:443?transport=tcp", Kind::turn, nullptr);
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme(), "turns");
  EXPECT_EQ(url->host(), "2001:db8::1");
  EXPECT_EQ(url->port(), 443);
  EXPECT_EQ(url->transport(), "tcp");
  EXPECT_EQ(url->text(), "turns:[2001:db8::1]:443?transport=tcp");
}

TEST(IceUrl, BadTurnUrls) {
  for (const char* text : {"",
                           "turn",
                           "turn:",
                           "http://turn.example.org",
                           "stun:turn.example.org",
                           "turn://turn.example.org:3478",
                           "TURN:turn.example.org",
                           "turn:turn.example.org:",
                           "turn:turn.example.org:0",
                           "turn:turn.example.org:65536",
                           "turn:turn.example.org:34x",
                           "turn:turn.example.org?transport=sctp",
                           "turn:turn.example.org?transport=",
                           "turn:turn.example.org?foo=udp",
                           "turn:-bad.example.org",
                           "turn:bad..example.org",
                           "turn:bad_host",
                           "turn:user@turn.example.org",
                           "turn:[2001:db8::1",
                           "turn:[nope]",
                           "turn:[::1]x",
                           "turn:turn.example.org/path",
                           "turn:a b"}) {
    std::string why;
    EXPECT_FALSE(IceUrl::parse(text, Kind::turn, &why)) << text;
    if (*text != '\0') {
      EXPECT_FALSE(why.empty()) << text;
    }
  }
  EXPECT_FALSE(IceUrl::parse("turn:" + std::string(300, 'a'), Kind::turn, nullptr));
}

TEST(IceUrl, StunUrlsTakeNoTransport) {
  EXPECT_TRUE(IceUrl::parse("stun:stun.l.google.com:19302", Kind::stun, nullptr));
  EXPECT_TRUE(IceUrl::parse("stuns:stun.example.org", Kind::stun, nullptr));
  EXPECT_FALSE(IceUrl::parse("stun:stun.example.org?transport=udp", Kind::stun, nullptr));
  EXPECT_FALSE(IceUrl::parse("turn:turn.example.org", Kind::stun, nullptr));
}

TEST(IceUrl, Lists) {
  std::string why;
  auto urls = IceUrl::parse_list("turn:a.example:3478?transport=udp, turns:a.example:5349",
                                 Kind::turn, &why);
  ASSERT_TRUE(urls) << why;
  ASSERT_EQ(urls->size(), 2u);
  EXPECT_EQ((*urls)[1].text(), "turns:a.example:5349");

  urls = IceUrl::parse_list("  ", Kind::turn, &why);
  ASSERT_TRUE(urls);
  EXPECT_TRUE(urls->empty());

  EXPECT_FALSE(IceUrl::parse_list("turn:a.example,,turn:b.example", Kind::turn, &why));
  EXPECT_FALSE(IceUrl::parse_list("turn:a.example,", Kind::turn, &why));
  EXPECT_FALSE(IceUrl::parse_list("turn:a.example,turn://b.example", Kind::turn, &why));
  EXPECT_NE(why.find("turn://b.example"), std::string::npos) << why;

  std::string many;
  for (int i = 0; i < 17; ++i) {
    many.append(i ? ",turn:h" : "turn:h").append(std::to_string(i));
  }
  EXPECT_FALSE(IceUrl::parse_list(many, Kind::turn, &why));
  EXPECT_NE(why.find("more than 16"), std::string::npos) << why;
}

}  // namespace
}  // namespace tandem::ice
