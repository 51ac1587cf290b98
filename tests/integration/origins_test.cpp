// The origin policy of WebSocket upgrades (ALLOWED_ORIGINS, docs/SECURITY.md): without a
// list every origin gets in and the unlisted ones are counted and logged; with one, other
// origins get 403. Browsers are played by the Origin header of the upgrade.
#include "support/fixture.hpp"

namespace tandem::test {
namespace {

constexpr const char* kExtension = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";

class OriginsTest : public TandemTest {
 protected:
  ConnectResult connect_with_origin(WsClient& client, std::optional<std::string> origin) {
    ConnectOptions options;
    if (origin) options.headers["Origin"] = *origin;
    return client.connect(port(), options);
  }
  double origins(const char* verdict) {
    return metric("tandem_ws_origins_total", {{"verdict", verdict}});
  }
  // The server's own pages (/demo) connect from PUBLIC_URL's origin.
  std::string own_origin() { return "http://localhost:" + std::to_string(port()); }
};

TEST_F(OriginsTest, WithoutAListEveryOriginGetsInAndTheUnlistedAreCounted) {
  start_server();
  WsClient evil("evil");
  WsClient evil_again("evil-again");
  WsClient own("own");
  WsClient tool("tool");
  ASSERT_TRUE(connect_with_origin(evil, "https://evil.example").ok);
  ASSERT_TRUE(connect_with_origin(evil_again, "https://evil.example").ok);
  ASSERT_TRUE(connect_with_origin(own, own_origin()).ok);
  ASSERT_TRUE(connect_with_origin(tool, std::nullopt).ok);
  join(evil, "open-room", "evil");  // served as before
  EXPECT_EQ(origins("unlisted"), 2);
  EXPECT_EQ(origins("allowed"), 1);
  EXPECT_EQ(origins("absent"), 1);
  EXPECT_EQ(origins("refused"), 0);
  // Logged, at most once per 10 s: the second one is held back.
  const auto line = server().wait_for_log_msg("ws_origin_unlisted", kTimeout);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(str(*line, "origin"), "https://evil.example");
  EXPECT_EQ(str(*line, "remote"), "127.0.0.1");
  EXPECT_EQ(server().count_log_msg("ws_origin_unlisted"), 1u);
}

TEST_F(OriginsTest, AListRefusesOtherOriginsWith403AndCountsThem) {
  start_server({{"ALLOWED_ORIGINS", std::string("https://tandem.watch, ") + kExtension}});
  int n = 0;
  for (const std::optional<std::string>& origin :
       {std::optional<std::string>("https://tandem.watch"), std::optional<std::string>(kExtension),
        std::optional<std::string>(own_origin()), std::optional<std::string>()}) {
    WsClient client("allowed");
    ASSERT_TRUE(connect_with_origin(client, origin).ok) << origin.value_or("(none)");
    join(client, "listed-room", "user-" + std::to_string(++n));
  }
  for (const char* origin : {"https://evil.example", "https://tandem.watch.evil.example",
                             "http://tandem.watch", "null"}) {
    WsClient client("refused");
    const ConnectResult refused = connect_with_origin(client, std::string(origin));
    EXPECT_FALSE(refused.ok) << origin;
    EXPECT_EQ(refused.http_status, 403) << origin << ": " << refused.error;
    EXPECT_NE(refused.body.find("ALLOWED_ORIGINS"), std::string::npos) << refused.body;
  }
  EXPECT_EQ(origins("refused"), 4);
  EXPECT_EQ(origins("allowed"), 3);
  EXPECT_EQ(origins("absent"), 1);
  EXPECT_EQ(origins("unlisted"), 0);
  EXPECT_EQ(metric("tandem_connections_total"), 4);  // the refused ones never opened
  const auto line = server().wait_for_log_msg("ws_origin_refused", kTimeout);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(str(*line, "origin"), "https://evil.example");
  expect_server_healthy();
}

}  // namespace
}  // namespace tandem::test
