// Who can learn what (docs/SECURITY.md): GET /status shows member identities, positions and
// URLs, and the dashboard and its data are served, only to the admin: the bearer of
// ADMIN_TOKEN, or, while it is unset, a client on this host (127.0.0.1 or ::1, no forwarded
// client). Others get counts. Clients elsewhere are played by sockets bound to 127.0.0.2.
#include "support/fixture.hpp"

namespace tandem::test {
namespace {

constexpr const char* kToken = "admin-view-token-0123";
constexpr const char* kOther = "127.0.0.2";  // not this host, as the server sees it

class AdminViewTest : public TandemTest {
 protected:
  void TearDown() override {
    host_.reset();  // before the server stops, which would otherwise wait for them
    guest_.reset();
    TandemTest::TearDown();
  }

  // A room with a host that named itself and set a URL, and a guest.
  void open_room() {
    host_ = joined("private-room", "alice-id", "Alice Secret");
    guest_ = joined("private-room", "bob-id", "Bob Secret");
    host_->wait_for("USER_JOINED");
    host_->send_json(msg::url_change("https://www.netflix.com/watch/81234567", 12));
    host_->wait_for("URL_CHANGE");
    guest_->wait_for("URL_CHANGE");
  }

  // Nothing that names a member or what it watches.
  static void expect_no_identity(const HttpResponse& res, std::string_view what) {
    for (const char* secret : {"alice-id", "bob-id", "Alice Secret", "Bob Secret", "81234567",
                               "hostUserId", "userId", "username", "currentUrl"}) {
      EXPECT_EQ(res.body.find(secret), std::string::npos) << what << " shows " << secret << "\n"
                                                          << res.describe();
    }
  }

  // /status?roomId= as an outsider sees it: the room and its user count, nothing else.
  static void expect_counts_of_room(const HttpResponse& res, std::string_view what) {
    ASSERT_EQ(res.status, 200) << what << "\n" << res.describe();
    expect_no_identity(res, what);
    const json::object body = res.json_object();
    const json::array& rooms = arr(body, "rooms");
    ASSERT_EQ(rooms.size(), 1u) << what << "\n" << res.body;
    const json::object& room = rooms[0].as_object();
    EXPECT_EQ(str(room, "roomId"), "private-room") << what;
    EXPECT_EQ(num(room, "connectionCount"), 2) << what;
    ASSERT_EQ(arr(room, "users").size(), 2u) << what;  // what the extension reads
    for (const auto& user : arr(room, "users")) EXPECT_TRUE(user.as_object().empty()) << what;
  }

  // The listing as an outsider sees it: how many rooms, none of their ids.
  static void expect_counts_listing(const HttpResponse& res, std::string_view what) {
    ASSERT_EQ(res.status, 200) << what << "\n" << res.describe();
    expect_no_identity(res, what);
    EXPECT_EQ(res.body.find("private-room"), std::string::npos) << what << "\n" << res.body;
    const json::object body = res.json_object();
    EXPECT_TRUE(arr(body, "rooms").empty()) << what;
    EXPECT_EQ(num(body, "totalRooms"), 1) << what;
    EXPECT_TRUE(is_null(body, "nextCursor")) << what;
  }

  // The full view: who is in the room, who hosts it, what it watches.
  static void expect_full_room(const HttpResponse& res, std::string_view what) {
    ASSERT_EQ(res.status, 200) << what << "\n" << res.describe();
    const json::object body = res.json_object();
    const json::array& rooms = arr(body, "rooms");
    ASSERT_EQ(rooms.size(), 1u) << what << "\n" << res.body;
    const json::object& room = rooms[0].as_object();
    EXPECT_EQ(str(room, "hostUserId"), "alice-id") << what;
    EXPECT_EQ(str(room, "currentUrl"), "https://www.netflix.com/watch/81234567") << what;
    EXPECT_EQ(user_ids(arr(room, "users")), (std::vector<std::string>{"alice-id", "bob-id"}))
        << what;
    EXPECT_EQ(str(arr(room, "users")[0].as_object(), "username"), "Alice Secret") << what;
  }

  std::unique_ptr<WsClient> host_;
  std::unique_ptr<WsClient> guest_;
};

TEST_F(AdminViewTest, StatusShowsOnlyCountsToClientsElsewhere) {
  start_server();
  open_room();
  expect_counts_of_room(http_get_from(kOther, port(), "/status?roomId=private-room"),
                        "?roomId= from 127.0.0.2");
  expect_counts_listing(http_get_from(kOther, port(), "/status"), "listing from 127.0.0.2");
  expect_counts_listing(http_get_from(kOther, port(), "/status?limit=1000"),
                        "listing of 1000 from 127.0.0.2");
  // A forged header does not bring a remote client home, and a proxy on this host that
  // names its client is not this host either (TRUSTED_PROXIES unset: the header is ignored
  // for the address, but it says the request was forwarded).
  expect_counts_of_room(http_get_from(kOther, port(), "/status?roomId=private-room",
                                      {{"X-Forwarded-For", "127.0.0.1"}}),
                        "from 127.0.0.2 claiming 127.0.0.1");
  expect_counts_of_room(
      http_get(port(), "/status?roomId=private-room", {{"X-Forwarded-For", "203.0.113.9"}}),
      "from 127.0.0.1 forwarding 203.0.113.9");
  expect_counts_of_room(
      http_get(port(), "/status?roomId=private-room", {{"Forwarded", "for=203.0.113.9"}}),
      "from 127.0.0.1 with Forwarded");
  // This host sees everything (no ADMIN_TOKEN): the operator's curl, and these tests.
  expect_full_room(http_get(port(), "/status?roomId=private-room"), "?roomId= from 127.0.0.1");
  const json::object listing = status();
  ASSERT_EQ(arr(listing, "rooms").size(), 1u);
  EXPECT_EQ(str(arr(listing, "rooms")[0].as_object(), "hostUserId"), "alice-id");
}

TEST_F(AdminViewTest, StatusShowsEverythingWithTheAdminTokenOnly) {
  start_server({{"ADMIN_TOKEN", kToken}});
  open_room();
  const std::string bearer = std::string("Bearer ") + kToken;
  // With a token set, being on this host is not enough, nor is a wrong token.
  expect_counts_of_room(http_get(port(), "/status?roomId=private-room"),
                        "?roomId= from 127.0.0.1 without the token");
  expect_counts_listing(http_get(port(), "/status"), "listing from 127.0.0.1 without the token");
  expect_counts_of_room(http_get(port(), "/status?roomId=private-room",
                                 {{"Authorization", std::string("Bearer ") + kToken + "x"}}),
                        "?roomId= with a wrong token");
  expect_full_room(
      http_get_from(kOther, port(), "/status?roomId=private-room", {{"Authorization", bearer}}),
      "?roomId= with the token from 127.0.0.2");
  const HttpResponse listing =
      http_get_from(kOther, port(), "/status", {{"Authorization", bearer}});
  ASSERT_EQ(listing.status, 200) << listing.describe();
  EXPECT_NE(listing.body.find("\"hostUserId\":\"alice-id\""), std::string::npos) << listing.body;
  // The dashboard's copy, with the token.
  expect_full_room(http_get_from(kOther, port(), "/api/dashboard/status?roomId=private-room",
                                 {{"Authorization", bearer}}),
                   "/api/dashboard/status with the token");
}

TEST_F(AdminViewTest, StatusPublicRestoresTheOldView) {
  start_server({{"STATUS_PUBLIC", "1"}});
  open_room();
  expect_full_room(http_get_from(kOther, port(), "/status?roomId=private-room"),
                   "?roomId= from 127.0.0.2 with STATUS_PUBLIC");
  const HttpResponse listing = http_get_from(kOther, port(), "/status");
  ASSERT_EQ(listing.status, 200) << listing.describe();
  const json::object body = listing.json_object();
  const json::array& rooms = arr(body, "rooms");
  ASSERT_EQ(rooms.size(), 1u) << listing.body;
  EXPECT_EQ(str(rooms[0].as_object(), "hostUserId"), "alice-id");
  // The dashboard is not part of it: still this host's only.
  EXPECT_EQ(http_get_from(kOther, port(), "/api/dashboard/status").status, 403);
}

TEST_F(AdminViewTest, DashboardIsThisHostsOnlyWithoutAdminToken) {
  start_server();
  open_room();
  const std::vector<std::string> targets = {"/dashboard", "/dashboard/dashboard.js",
                                            "/api/dashboard/status", "/api/dashboard/metrics"};
  for (const auto& target : targets) {
    for (const Headers& headers : {Headers{}, Headers{{"X-Forwarded-For", "127.0.0.1"}},
                                   Headers{{"Forwarded", "for=::1"}}}) {
      const HttpResponse refused = http_get_from(kOther, port(), target, headers);
      EXPECT_EQ(refused.status, 403) << target << "\n" << refused.describe();
      EXPECT_NE(refused.body.find("ADMIN_TOKEN"), std::string::npos) << refused.body;
      EXPECT_EQ(refused.body.find("tandem_"), std::string::npos) << target;
      expect_no_identity(refused, target);
    }
    // A proxy on this host forwarding a remote client.
    const HttpResponse proxied = http_get(port(), target, {{"X-Forwarded-For", "203.0.113.9"}});
    EXPECT_EQ(proxied.status, 403) << target << "\n" << proxied.describe();
    EXPECT_EQ(http_get(port(), target).status, 200) << target;  // this host
  }
}

TEST_F(AdminViewTest, DashboardBehindATrustedProxyNeedsTheToken) {
  // The proxy (127.0.0.2) is trusted: its X-Forwarded-For names the client, which is
  // never this host, whatever the proxy says.
  start_server({{"TRUSTED_PROXIES", kOther}});
  open_room();
  for (const char* client : {"198.51.100.4", "127.0.0.1"}) {
    const HttpResponse res =
        http_get_from(kOther, port(), "/api/dashboard/status", {{"X-Forwarded-For", client}});
    EXPECT_EQ(res.status, 403) << client << "\n" << res.describe();
    expect_counts_of_room(
        http_get_from(kOther, port(), "/status?roomId=private-room", {{"X-Forwarded-For", client}}),
        std::string("?roomId= forwarded for ") + client);
  }
}

}  // namespace
}  // namespace tandem::test
