// HTTP endpoints: /health, /ready, /status, /metrics, short ids and redirects, the banner,
// 404s, OPTIONS, CORS, and which upgrades are accepted.
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

#include <regex>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

void expect_cors(const HttpResponse& res, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "*") << res.describe();
  EXPECT_EQ(res.header("Access-Control-Allow-Methods"), "GET, OPTIONS") << res.describe();
  EXPECT_EQ(res.header("Access-Control-Allow-Headers"), "Content-Type") << res.describe();
  EXPECT_EQ(res.header("Access-Control-Expose-Headers"), "Location") << res.describe();
}

bool is_short_id(const std::string& id) {
  static const std::regex pattern("^[a-z0-9]{7}$");
  return std::regex_match(id, pattern);
}

class HttpTest : public TandemTest {};

TEST_F(HttpTest, HealthAnswersOkWithNodeId) {
  start_server();
  const HttpResponse res = http_get(port(), "/health");
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_NE(res.header("Content-Type").find("application/json"), std::string::npos);
  const json::object body = res.json_object();
  EXPECT_EQ(body.size(), 2u) << res.body;
  EXPECT_EQ(str(body, "status"), "ok");
  EXPECT_EQ(str(body, "nodeId"), server().node_id());
  expect_cors(res, "/health");
}

TEST_F(HttpTest, ReadyIs200WhenServing) {
  start_server();
  const HttpResponse res = http_get(port(), "/ready");
  EXPECT_EQ(res.status, 200) << res.describe();
  expect_cors(res, "/ready");
}

TEST_F(HttpTest, StatusOfAnEmptyServer) {
  start_server();
  const std::int64_t before = now_ms();
  const HttpResponse res = http_get(port(), "/status");
  ASSERT_EQ(res.status, 200) << res.describe();
  expect_cors(res, "/status");
  const json::object body = res.json_object();
  EXPECT_EQ(str(body, "nodeId"), server().node_id());
  EXPECT_GE(int_of(body, "timestamp"), before);
  EXPECT_LE(int_of(body, "timestamp"), now_ms());
  EXPECT_EQ(num(body, "localConnections"), 0);
  EXPECT_EQ(num(body, "localRooms"), 0);
  EXPECT_GE(num(body, "uptime"), 0);
  ASSERT_TRUE(body.contains("rooms")) << res.body;
  EXPECT_TRUE(body.at("rooms").is_array()) << res.body;
  EXPECT_TRUE(arr(body, "rooms").empty()) << res.body;
}

TEST_F(HttpTest, StatusDescribesRoomsAndMembers) {
  start_server();
  auto alice = joined("movie-night-42", "user_alice", "Alice");
  auto bob = joined("movie-night-42", "user_bob", "Bob");
  alice->expect("USER_JOINED");
  alice->send_json(msg::url_change("https://www.netflix.com/watch/80192098", 12.5));
  alice->expect("URL_CHANGE");
  bob->expect("URL_CHANGE");
  bob->send_json(msg::position_update(42.25, false));
  expect_alive(*bob);  // the update is processed before the PING

  const json::object body = status();
  EXPECT_EQ(num(body, "localConnections"), 2);
  EXPECT_EQ(num(body, "localRooms"), 1);
  const json::array& rooms = arr(body, "rooms");
  ASSERT_EQ(rooms.size(), 1u) << json::serialize(body);
  const json::object& room = rooms[0].as_object();
  EXPECT_EQ(str(room, "roomId"), "movie-night-42");
  EXPECT_EQ(num(room, "connectionCount"), 2);
  EXPECT_EQ(num(room, "currentTime"), 12.5);
  EXPECT_EQ(flag(room, "isPlaying"), false);
  EXPECT_EQ(str(room, "currentUrl"), "https://www.netflix.com/watch/80192098");
  EXPECT_EQ(str(room, "hostUserId"), "user_alice");
  const json::array& users = arr(room, "users");
  ASSERT_EQ(users.size(), 2u) << json::serialize(room);
  EXPECT_EQ(user_ids(users), (std::vector<std::string>{"user_alice", "user_bob"}));
  const json::object& a = users[0].as_object();
  EXPECT_EQ(str(a, "username"), "Alice");
  EXPECT_EQ(num(a, "currentTime"), 0);
  EXPECT_EQ(flag(a, "isPlaying"), false);
  EXPECT_EQ(str(a, "connectionQuality"), "good");
  const json::object& b = users[1].as_object();
  EXPECT_EQ(str(b, "username"), "Bob");
  EXPECT_EQ(num(b, "currentTime"), 42.25);
  EXPECT_EQ(flag(b, "isPlaying"), false);
  EXPECT_EQ(str(b, "connectionQuality"), "good");
}

TEST_F(HttpTest, StatusWithoutUrlReportsNull) {
  start_server();
  auto alice = joined("plain", "alice");
  const json::object room = room_status("plain");
  EXPECT_TRUE(is_null(room, "currentUrl")) << json::serialize(room);
  const json::object user = user_status("plain", "alice");
  EXPECT_TRUE(is_null(user, "username")) << json::serialize(user);
}

TEST_F(HttpTest, StatusRoomIdFilter) {
  start_server();
  auto a = joined("room-a", "alice");
  auto b = joined("room-b", "bob");
  auto c = joined("room-c", "carol");

  const json::object all = status();
  EXPECT_EQ(arr(all, "rooms").size(), 3u) << json::serialize(all);
  EXPECT_EQ(num(all, "localRooms"), 3);

  const json::object only_b = status("room-b");
  const json::array& rooms = arr(only_b, "rooms");
  ASSERT_EQ(rooms.size(), 1u) << json::serialize(only_b);
  EXPECT_EQ(str(rooms[0].as_object(), "roomId"), "room-b");
  EXPECT_EQ(user_ids(arr(rooms[0].as_object(), "users")), std::vector<std::string>{"bob"});
  // The counters still describe the node.
  EXPECT_EQ(num(only_b, "localRooms"), 3);
  EXPECT_EQ(num(only_b, "localConnections"), 3);

  EXPECT_TRUE(arr(status("no-such-room"), "rooms").empty());
  EXPECT_TRUE(arr(status("bad!room"), "rooms").empty());
}

TEST_F(HttpTest, StatusListRoomsFalseHidesTheListButNotOneRoom) {
  start_server({{"STATUS_LIST_ROOMS", "false"}});
  auto a = joined("secret-room", "alice");
  const json::object all = status();
  EXPECT_TRUE(all.contains("rooms"));
  EXPECT_TRUE(arr(all, "rooms").empty()) << json::serialize(all);
  EXPECT_EQ(num(all, "localRooms"), 1);
  const json::object one = status("secret-room");
  ASSERT_EQ(arr(one, "rooms").size(), 1u) << json::serialize(one);
  EXPECT_EQ(str(arr(one, "rooms")[0].as_object(), "roomId"), "secret-room");
}

TEST_F(HttpTest, MetricsExposition) {
  start_server();
  auto alice = joined("metrics-room", "alice");
  auto bob = joined("metrics-room", "bob");
  alice->expect("USER_JOINED");
  bob->send_json(msg::play_pause("play", 1.0));  // guest without control: FORBIDDEN
  bob->expect("ERROR");
  bob->send_text("not json");
  bob->expect("ERROR");

  const HttpResponse res = http_get(port(), "/metrics");
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_NE(res.header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(res.header("Content-Type").find("version=0.0.4"), std::string::npos);
  expect_cors(res, "/metrics");
  const std::string& text = res.body;
  EXPECT_NE(text.find("# TYPE tandem_messages_in_total counter"), std::string::npos);
  EXPECT_EQ(metric_value(text, "tandem_connections"), 2.0) << text;
  EXPECT_EQ(metric_value(text, "tandem_rooms"), 1.0) << text;
  EXPECT_EQ(metric_value(text, "tandem_messages_in_total", {{"type", "JOIN"}}), 2.0) << text;
  EXPECT_EQ(metric_value(text, "tandem_messages_in_total", {{"type", "PLAY_PAUSE"}}), 1.0);
  EXPECT_EQ(metric_value(text, "tandem_messages_out_total", {{"type", "ROOM_STATE"}}), 2.0);
  EXPECT_EQ(metric_value(text, "tandem_messages_out_total", {{"type", "USER_JOINED"}}), 1.0);
  EXPECT_EQ(metric_value(text, "tandem_errors_total", {{"code", "FORBIDDEN"}}), 1.0) << text;
  EXPECT_EQ(metric_value(text, "tandem_errors_total", {{"code", "INVALID_JSON"}}), 1.0) << text;
  EXPECT_EQ(metric_value(text, "tandem_errors_total", {{"code", "PIN_REQUIRED"}}), 0.0) << text;
  EXPECT_TRUE(metric_value(text, "tandem_ws_closes_total", {{"code", "1000"}}).has_value());
  EXPECT_EQ(metric_value(text, "tandem_send_queue_overflows_total"), 0.0) << text;
  // Written so far: two 101 responses, ROOM_STATE and USER_JOINED to alice, ROOM_STATE and
  // two ERRORs to bob; some of them may have shared a write.
  EXPECT_EQ(metric_value(text, "tandem_ws_frames_out_total"), 7.0) << text;
  const auto writes = metric_value(text, "tandem_ws_writes_total");
  ASSERT_TRUE(writes.has_value()) << text;
  EXPECT_GE(*writes, 2.0);
  EXPECT_LE(*writes, 7.0);
  EXPECT_GT(metric_value(text, "tandem_ws_bytes_out_total").value_or(0), 300.0) << text;
  for (const char* outcome : {"quorum", "timeout", "replaced", "cancelled"}) {
    EXPECT_EQ(metric_value(text, "tandem_gate_outcomes_total", {{"outcome", outcome}}), 0.0)
        << outcome;
  }
  const auto uptime = metric_value(text, "tandem_uptime_seconds");
  ASSERT_TRUE(uptime.has_value()) << text;
  EXPECT_GE(*uptime, 0.0);
  EXPECT_TRUE(metric_value(text, "tandem_relays_dropped_total").has_value()) << text;
}

TEST_F(HttpTest, MetricsCountClosesByCode) {
  start_server();
  auto alice = joined("closes", "alice");
  alice->send_json(msg::leave());
  EXPECT_EQ(alice->wait_closed(), 1000);
  auto bob = connect("bob");
  bob->send_binary("\x01\x02");
  EXPECT_EQ(bob->wait_closed(), 1003);
  // The server counts a close when its read side ends, which may trail our view of it.
  const bool ok = eventually([&] {
    const std::string text = metrics_text();
    return metric_value(text, "tandem_ws_closes_total", {{"code", "1000"}}) == 1.0 &&
           metric_value(text, "tandem_ws_closes_total", {{"code", "1003"}}) == 1.0 &&
           metric_value(text, "tandem_connections") == 0.0;
  });
  EXPECT_TRUE(ok) << metrics_text();
}

TEST_F(HttpTest, ShortIdIsStableAndResolves) {
  start_server({{"PUBLIC_URL", "https://tandem.example/"}});
  const HttpResponse first = http_get(port(), "/api/short-id/movie-night-42");
  ASSERT_EQ(first.status, 200) << first.describe();
  expect_cors(first, "/api/short-id");
  const json::object a = first.json_object();
  const std::string id = str(a, "shortId");
  EXPECT_TRUE(is_short_id(id)) << id;
  EXPECT_EQ(str(a, "roomId"), "movie-night-42");
  EXPECT_EQ(str(a, "shortUrl"), "https://tandem.example/room/" + id);

  const json::object again = http_get(port(), "/api/short-id/movie-night-42").json_object();
  EXPECT_EQ(str(again, "shortId"), id);

  const json::object other = http_get(port(), "/api/short-id/other_room").json_object();
  EXPECT_TRUE(is_short_id(str(other, "shortId")));
  EXPECT_NE(str(other, "shortId"), id);

  const HttpResponse resolved = http_get(port(), "/api/room/" + id);
  ASSERT_EQ(resolved.status, 200) << resolved.describe();
  const json::object r = resolved.json_object();
  EXPECT_EQ(str(r, "roomId"), "movie-night-42");
  EXPECT_EQ(str(r, "shortId"), id);
  expect_cors(resolved, "/api/room");
}

TEST_F(HttpTest, ShortUrlDefaultsToLocalhostAndPort) {
  start_server();
  const json::object a = http_get(port(), "/api/short-id/room1").json_object();
  // PORT=0: the configured port is what PUBLIC_URL defaults to.
  EXPECT_EQ(str(a, "shortUrl").rfind("http://localhost:", 0), 0u) << str(a, "shortUrl");
  EXPECT_NE(str(a, "shortUrl").find("/room/" + str(a, "shortId")), std::string::npos);
}

TEST_F(HttpTest, ShortIdForAnInvalidRoomIdIs400) {
  start_server();
  for (const std::string& target :
       {std::string("/api/short-id/bad!room"), std::string("/api/short-id/") + std::string(51, 'a'),
        std::string("/api/short-id/a%20b"), std::string("/api/short-id/%C3%A9")}) {
    const HttpResponse res = http_get(port(), target);
    EXPECT_EQ(res.status, 400) << target << "\n" << res.describe();
    expect_cors(res, target);
  }
  // 50 characters is the limit, and fine.
  EXPECT_EQ(http_get(port(), "/api/short-id/" + std::string(50, 'a')).status, 200);
}

TEST_F(HttpTest, UnknownShortIdIs404) {
  start_server();
  for (const std::string id : {"abc1234", "zzzzzzz", "ABC1234", "short", "toolong12"}) {
    const HttpResponse res = http_get(port(), "/api/room/" + id);
    EXPECT_EQ(res.status, 404) << id << "\n" << res.describe();
    EXPECT_EQ(json::serialize(res.json()), R"({"error":"Room not found"})") << id;
    expect_cors(res, id);
  }
}

TEST_F(HttpTest, RoomRedirects) {
  start_server();
  const std::string id =
      str(http_get(port(), "/api/short-id/movie-night-42").json_object(), "shortId");
  const std::string base = "https://www.netflix.com/?tandemRoom=movie-night-42";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/room/" + id, base},
      {"/room/" + id + "/", base},
      {"/room/" + id + "?utm_source=share", base},
      {"/room/" + id + "/?x=1", base},
      {"/room/" + id + "/4821", base + "&pin=4821"},
      {"/room/" + id + "/4821/", base + "&pin=4821"},
      {"/room/" + id + "/123456789012?ref=x", base + "&pin=123456789012"},
  };
  for (const auto& [target, location] : cases) {
    const HttpResponse res = http_get(port(), target);
    EXPECT_EQ(res.status, 302) << target << "\n" << res.describe();
    EXPECT_EQ(res.header("Location"), location) << target;
    expect_cors(res, target);
  }
}

TEST_F(HttpTest, RoomRedirectUnknownOrMalformedIs404) {
  start_server();
  const std::string id = str(http_get(port(), "/api/short-id/r1").json_object(), "shortId");
  for (const std::string& target :
       {std::string("/room/abc1234"), std::string("/room/zz"), "/room/" + id + "/12",
        "/room/" + id + "/12ab", "/room/" + id + "/1234/extra"}) {
    const HttpResponse res = http_get(port(), target);
    EXPECT_EQ(res.status, 404) << target << "\n" << res.describe();
    EXPECT_FALSE(res.has_header("Location")) << target;
    expect_cors(res, target);
  }
}

TEST_F(HttpTest, BannerNamesNodeAndEndpoints) {
  start_server();
  const HttpResponse res = http_get(port(), "/");
  ASSERT_EQ(res.status, 200) << res.describe();
  EXPECT_NE(res.header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(res.body.find(server().node_id()), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("/ws"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("/status"), std::string::npos) << res.body;
  expect_cors(res, "/");
}

TEST_F(HttpTest, UnknownPathsAre404) {
  start_server();
  for (const char* target : {"/nope", "/health/extra", "/api", "/api/short-id", "/api/room",
                             "/statusx", "/room", "/api/short-id/a/b"}) {
    const HttpResponse res = http_get(port(), target);
    EXPECT_EQ(res.status, 404) << target << "\n" << res.describe();
    expect_cors(res, target);
  }
}

TEST_F(HttpTest, OptionsIs200EmptyWithCors) {
  start_server();
  for (const char* target : {"/", "/status", "/api/short-id/x", "/anything"}) {
    const HttpResponse res = http_request(
        port(), "OPTIONS", target,
        {{"Origin", "https://www.netflix.com"}, {"Access-Control-Request-Method", "GET"}});
    EXPECT_EQ(res.status, 200) << target << "\n" << res.describe();
    EXPECT_TRUE(res.body.empty()) << target;
    expect_cors(res, target);
  }
}

TEST_F(HttpTest, PostIsRefusedWithCors) {
  start_server();
  const HttpResponse res =
      http_request(port(), "POST", "/status", {{"Content-Type", "application/json"}}, "{}");
  EXPECT_EQ(res.status, 405) << res.describe();
  EXPECT_EQ(res.header("Allow"), "GET, OPTIONS");
  expect_cors(res, "POST /status");
  // The server is unharmed.
  EXPECT_EQ(http_get(port(), "/health").status, 200);
}

TEST_F(HttpTest, UpgradeOnlyOnWsPath) {
  start_server();
  for (const char* target : {"/", "/socket", "/ws/extra", "/wss", "/status"}) {
    WsClient client(target);
    const ConnectResult result = client.connect(port(), ConnectOptions{.target = target});
    EXPECT_FALSE(result.ok) << target;
    EXPECT_EQ(result.http_status, 404) << target << " " << result.error << " " << result.body;
  }
  // The query string is allowed (and ignored).
  WsClient with_query("query");
  const ConnectResult ok = with_query.connect(port(), ConnectOptions{.target = "/ws?v=2&x=y"});
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.http_status, 101);
  expect_alive(with_query);
}

TEST_F(HttpTest, PlainGetOnWsIsNotAnUpgrade) {
  start_server();
  const HttpResponse res = http_get(port(), "/ws");
  // Not an upgrade: 426 Upgrade Required (docs/PROTOCOL.md).
  EXPECT_EQ(res.status, 426) << res.describe();
  expect_cors(res, "/ws");
}

TEST_F(HttpTest, KeepAliveServesSeveralRequests) {
  start_server();
  HttpConnection conn;
  conn.connect(port());
  EXPECT_EQ(conn.request("GET", "/health").status, 200);
  EXPECT_EQ(conn.request("GET", "/ready").status, 200);
  EXPECT_EQ(conn.request("GET", "/nope").status, 404);
  EXPECT_EQ(conn.request("GET", "/status").status, 200);
}

}  // namespace
}  // namespace tandem::test
