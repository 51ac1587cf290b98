// Client addresses (docs/SECURITY.md): WebSocket connections per address
// (MAX_CONNECTIONS_PER_IP), and X-Forwarded-For believed only from TRUSTED_PROXIES. Other
// client addresses on loopback: sockets bound to 127.0.0.2, 127.0.0.3, ...
#include "support/fixture.hpp"
#include "support/raw_socket.hpp"

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class ClientAddressTest : public TandemTest {};

// A WebSocket connection from `source` with the upgrade's extra `headers`.
ConnectResult connect_via(WsClient& client, std::uint16_t port, std::string source,
                           std::map<std::string, std::string> headers = {}) {
  return client.connect(
      port, ConnectOptions{.local_address = std::move(source), .headers = std::move(headers)});
}

TEST_F(ClientAddressTest, ConnectionsPerAddressAreCappedWith429) {
  start_server({{"MAX_CONNECTIONS_PER_IP", "3"}});
  std::vector<std::unique_ptr<WsClient>> from_two;
  for (int i = 0; i < 3; ++i) {
    from_two.push_back(std::make_unique<WsClient>("two-" + std::to_string(i)));
    ASSERT_TRUE(connect_via(*from_two.back(), port(), "127.0.0.2").ok);
  }
  WsClient fourth("two-3");
  const ConnectResult refused = connect_via(fourth, port(), "127.0.0.2");
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.http_status, 429) << refused.error << " " << refused.body;
  EXPECT_NE(refused.body.find("Too many connections"), std::string::npos) << refused.body;
  EXPECT_EQ(metric("tandem_connections_rejected_total", {{"reason", "per_ip"}}), 1);

  // Another address is not affected, and the refused one changed nothing.
  WsClient other("three");
  ASSERT_TRUE(connect_via(other, port(), "127.0.0.3").ok);
  for (auto& client : from_two) expect_alive(*client);
  EXPECT_EQ(metric("tandem_connections"), 4);

  // A slot frees when one of the address's connections ends.
  from_two.front()->close();
  EXPECT_TRUE(eventually([&] {
    WsClient again("two-again");
    return connect_via(again, port(), "127.0.0.2").ok;
  }));
  expect_server_healthy();
}

TEST_F(ClientAddressTest, ForwardedForFromAnUntrustedPeerIsIgnored) {
  start_server({{"MAX_CONNECTIONS_PER_IP", "2"}});  // TRUSTED_PROXIES unset: nobody's
  WsClient a("a");
  WsClient b("b");
  WsClient c("c");
  ASSERT_TRUE(connect_via(a, port(), "127.0.0.2", {{"X-Forwarded-For", "203.0.113.1"}}).ok);
  ASSERT_TRUE(connect_via(b, port(), "127.0.0.2", {{"X-Forwarded-For", "203.0.113.2"}}).ok);
  // A third "client" behind a forged header is still 127.0.0.2, its third connection.
  const ConnectResult forged =
      connect_via(c, port(), "127.0.0.2", {{"X-Forwarded-For", "203.0.113.3"}});
  EXPECT_EQ(forged.http_status, 429) << forged.error;
}

TEST_F(ClientAddressTest, ForwardedForFromATrustedProxyNamesTheClient) {
  start_server({{"MAX_CONNECTIONS_PER_IP", "2"}, {"TRUSTED_PROXIES", "127.0.0.2, ::1"}});
  // Two clients behind the proxy, each up to its own cap.
  WsClient a1("a1");
  WsClient a2("a2");
  WsClient a3("a3");
  WsClient b1("b1");
  ASSERT_TRUE(connect_via(a1, port(), "127.0.0.2", {{"X-Forwarded-For", "203.0.113.7"}}).ok);
  ASSERT_TRUE(connect_via(a2, port(), "127.0.0.2", {{"X-Forwarded-For", "203.0.113.7"}}).ok);
  EXPECT_EQ(connect_via(a3, port(), "127.0.0.2", {{"X-Forwarded-For", "203.0.113.7"}}).http_status,
            429);
  ASSERT_TRUE(connect_via(b1, port(), "127.0.0.2", {{"X-Forwarded-For", "203.0.113.8"}}).ok);
  // What the client wrote left of the proxy's entry is not believed: still 203.0.113.7.
  WsClient forged("forged");
  EXPECT_EQ(
      connect_via(forged, port(), "127.0.0.2", {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}})
          .http_status,
      429);
  // The proxy itself without the header, and an untrusted peer with one, are themselves.
  WsClient direct("direct");
  ASSERT_TRUE(connect_via(direct, port(), "127.0.0.2").ok);
  WsClient untrusted1("untrusted1");
  WsClient untrusted2("untrusted2");
  WsClient untrusted3("untrusted3");
  ASSERT_TRUE(
      connect_via(untrusted1, port(), "127.0.0.3", {{"X-Forwarded-For", "203.0.113.9"}}).ok);
  ASSERT_TRUE(
      connect_via(untrusted2, port(), "127.0.0.3", {{"X-Forwarded-For", "203.0.113.10"}}).ok);
  EXPECT_EQ(connect_via(untrusted3, port(), "127.0.0.3", {{"X-Forwarded-For", "203.0.113.11"}})
                .http_status,
            429);
  EXPECT_EQ(metric("tandem_connections_rejected_total", {{"reason", "per_ip"}}), 3);
  expect_server_healthy();
}

// The resolved address is the connection's address everywhere: here in the log line of a
// client closed as a slow consumer (a ping flood it never reads, against a small queue).
TEST_F(ClientAddressTest, TheResolvedAddressIsTheConnectionsAddress) {
  start_server({{"TRUSTED_PROXIES", "127.0.0.0/30"},
                {"RATE_LIMIT_PER_SEC", "10000000"},
                {"RATE_LIMIT_BURST", "10000000"},
                {"SEND_QUEUE_MAX_MESSAGES", "16"},
                {"HANDSHAKE_TIMEOUT_MS", "1000"}});
  RawSocket socket = RawSocket::connect(port(), RawOptions{.local_address = "127.0.0.2",
                                                           .receive_buffer_bytes = 4096,
                                                           .send_buffer_bytes = 64 * 1024});
  ASSERT_TRUE(socket.valid());
  ASSERT_TRUE(socket.send_all(ws_upgrade_request(
      port(), "/ws", "X-Forwarded-For: 198.51.100.1, 2001:db8::5, 127.0.0.1\r\n")));
  ASSERT_EQ(socket.read_until("\r\n\r\n").rfind("HTTP/1.1 101", 0), 0u);
  std::string pings;
  for (int i = 0; i < 64; ++i) pings += ws_frame(0x9, std::string(125, 'p'));
  const auto deadline = Clock::now() + 20s;
  std::string pending;
  while (Clock::now() < deadline && server().count_log_msg("slow_consumer_closed") == 0) {
    if (pending.empty()) pending = pings;
    const auto sent = socket.try_send(pending);
    if (!sent) break;
    pending.erase(0, *sent);
  }
  const auto log = server().wait_for_log_msg("slow_consumer_closed", kTimeout);
  ASSERT_TRUE(log.has_value());
  // 127.0.0.1 is a trusted hop too; 2001:db8::5 is the right-most untrusted address.
  EXPECT_EQ(str(*log, "remote"), "2001:db8::5");
}

}  // namespace
}  // namespace tandem::test
