// The pages the server serves itself: /demo (watch party) and /dashboard (operations), their
// headers, the 404s around them, and ADMIN_TOKEN on the dashboard's data. The browser tests
// (tests/browser) drive the pages in Chromium; these run without a browser.
#include "support/fixture.hpp"

namespace tandem::test {
namespace {

class WebTest : public TandemTest {};

TEST_F(WebTest, DemoIsAnHtmlPageWithItsTestHooks) {
  start_server();
  for (const char* target : {"/demo", "/demo/", "/demo?room=test&name=Alice"}) {
    const HttpResponse res = http_get(port(), target);
    ASSERT_EQ(res.status, 200) << target << "\n" << res.describe();
    EXPECT_EQ(res.header("Content-Type"), "text/html; charset=utf-8") << target;
    for (const char* hook :
         {"data-testid=\"status\"", "data-testid=\"rtc\"", "data-testid=\"play\"",
          "data-testid=\"pause\"", "data-testid=\"playback\"", "data-testid=\"members\""}) {
      EXPECT_NE(res.body.find(hook), std::string::npos) << target << ": " << hook;
    }
    EXPECT_EQ(res.header("Cache-Control"), "no-cache") << target;
    EXPECT_FALSE(res.header("ETag").empty()) << target;
    EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "*") << target;
    const std::string csp = res.header("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  }
}

// No other site may frame the pages (clickjacking) or make a browser read an answer as
// another type; the page URL (room names) is not sent on as a referrer.
TEST_F(WebTest, PagesCannotBeFramedOrSniffed) {
  start_server();
  for (const char* target : {"/demo", "/demo/demo.js", "/dashboard", "/dashboard/dashboard.js"}) {
    const HttpResponse res = http_get(port(), target);
    ASSERT_EQ(res.status, 200) << target << "\n" << res.describe();
    EXPECT_NE(res.header("Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos)
        << target;
    EXPECT_EQ(res.header("X-Frame-Options"), "DENY") << target;
    EXPECT_EQ(res.header("X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(res.header("Referrer-Policy"), "no-referrer") << target;
  }
  for (const char* target : {"/", "/status", "/health", "/metrics", "/nothing-here"}) {
    EXPECT_EQ(http_get(port(), target).header("X-Content-Type-Options"), "nosniff") << target;
  }
  EXPECT_EQ(http_get_from("127.0.0.2", port(), "/dashboard").header("X-Content-Type-Options"),
            "nosniff");
}

TEST_F(WebTest, DemoAssetsHaveTheirContentTypes) {
  start_server();
  const auto type_of = [this](const char* target) {
    const HttpResponse res = http_get(port(), target);
    EXPECT_EQ(res.status, 200) << target << "\n" << res.describe();
    EXPECT_FALSE(res.body.empty()) << target;
    return res.header("Content-Type");
  };
  EXPECT_EQ(type_of("/demo/demo.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(type_of("/demo/demo.css"), "text/css; charset=utf-8");
  EXPECT_EQ(type_of("/demo/clip.webm"), "video/webm");
  EXPECT_EQ(type_of("/dashboard/dashboard.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(type_of("/dashboard/dashboard.css"), "text/css; charset=utf-8");
}

TEST_F(WebTest, VideoSourceOriginIsAllowedAsMedia) {
  start_server();
  const HttpResponse res =
      http_get(port(), "/demo?room=r&src=https%3A%2F%2Fcdn.example.com%2Ffilm.webm");
  ASSERT_EQ(res.status, 200) << res.describe();
  const std::string csp = res.header("Content-Security-Policy");
  EXPECT_NE(csp.find("media-src 'self' https://cdn.example.com;"), std::string::npos) << csp;
  const HttpResponse plain = http_get(port(), "/demo?room=r");
  EXPECT_NE(plain.header("Content-Security-Policy").find("media-src 'self';"), std::string::npos)
      << plain.describe();
}

TEST_F(WebTest, ClipIsServedInRangesAndRevalidated) {
  start_server();
  const HttpResponse whole = http_get(port(), "/demo/clip.webm");
  ASSERT_EQ(whole.status, 200) << whole.describe();
  EXPECT_EQ(whole.header("Accept-Ranges"), "bytes");
  const HttpResponse part = http_get(port(), "/demo/clip.webm", {{"Range", "bytes=4-11"}});
  ASSERT_EQ(part.status, 206) << part.describe();
  EXPECT_EQ(part.body, whole.body.substr(4, 8));
  EXPECT_EQ(part.header("Content-Range"), "bytes 4-11/" + std::to_string(whole.body.size()));
  const HttpResponse same =
      http_get(port(), "/demo/clip.webm", {{"If-None-Match", whole.header("ETag")}});
  EXPECT_EQ(same.status, 304) << same.describe();
  EXPECT_TRUE(same.body.empty());
}

TEST_F(WebTest, UnknownFilesAre404) {
  start_server();
  for (const char* target :
       {"/demo/nope.js", "/demo/a/b", "/dashboard/nope.css", "/demo/../dashboard/index.html",
        "/demox", "/api/dashboard", "/api/dashboard/other"}) {
    const HttpResponse res = http_get(port(), target);
    EXPECT_EQ(res.status, 404) << target << "\n" << res.describe();
  }
}

TEST_F(WebTest, RoutesAreCounted) {
  start_server();
  EXPECT_EQ(http_get(port(), "/demo").status, 200);
  EXPECT_EQ(http_get(port(), "/demo/demo.js").status, 200);
  EXPECT_EQ(http_get(port(), "/dashboard").status, 200);
  EXPECT_EQ(http_get(port(), "/api/dashboard/metrics").status, 200);
  EXPECT_EQ(http_get(port(), "/demo/missing.js").status, 404);
  EXPECT_EQ(metric("tandem_http_requests_total", {{"route", "/demo"}}), 2);
  EXPECT_EQ(metric("tandem_http_requests_total", {{"route", "/dashboard"}}), 1);
  EXPECT_EQ(metric("tandem_http_requests_total", {{"route", "/api/dashboard"}}), 1);
  EXPECT_EQ(metric("tandem_http_requests_total", {{"route", "not_found"}}), 1);
}

TEST_F(WebTest, DashboardDataIsOpenToThisHostWithoutAdminToken) {
  start_server();
  const HttpResponse page = http_get(port(), "/dashboard");
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<canvas"), std::string::npos);
  EXPECT_NE(page.header("Content-Security-Policy").find("connect-src 'self'"), std::string::npos);

  auto alice = joined("dash-room", "alice");
  const HttpResponse metrics = http_get(port(), "/api/dashboard/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.describe();
  EXPECT_NE(metrics.header("Content-Type").find("version=0.0.4"), std::string::npos);
  EXPECT_EQ(metric_value(metrics.body, "tandem_connections"), 1.0) << metrics.body;
  const HttpResponse status = http_get(port(), "/api/dashboard/status");
  ASSERT_EQ(status.status, 200) << status.describe();
  const json::object body = status.json_object();
  EXPECT_EQ(str(body, "nodeId"), server().node_id());
  EXPECT_EQ(num(body, "localRooms"), 1);
}

TEST_F(WebTest, DashboardHonoursAdminToken) {
  start_server({{"ADMIN_TOKEN", "op3rator-secret-0"}});
  // The page itself holds no data and is served to anyone: it asks for the token.
  const HttpResponse page = http_get(port(), "/dashboard");
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_NE(page.body.find("token-form"), std::string::npos);

  for (const char* target : {"/api/dashboard/metrics", "/api/dashboard/status"}) {
    const HttpResponse none = http_get(port(), target);
    EXPECT_EQ(none.status, 401) << target << "\n" << none.describe();
    EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer") << target;
    EXPECT_EQ(none.body.find("tandem_"), std::string::npos) << target;
    const HttpResponse wrong =
        http_get(port(), target, {{"Authorization", "Bearer op3rator-secreT"}});
    EXPECT_EQ(wrong.status, 401) << target << "\n" << wrong.describe();
    const HttpResponse longer =
        http_get(port(), target, {{"Authorization", "Bearer op3rator-secret-02"}});
    EXPECT_EQ(longer.status, 401) << target << "\n" << longer.describe();
    const HttpResponse basic = http_get(port(), target, {{"Authorization", "op3rator-secret-0"}});
    EXPECT_EQ(basic.status, 401) << target << "\n" << basic.describe();
    const HttpResponse right =
        http_get(port(), target, {{"Authorization", "Bearer op3rator-secret-0"}});
    EXPECT_EQ(right.status, 200) << target << "\n" << right.describe();
  }
  const HttpResponse metrics =
      http_get(port(), "/api/dashboard/metrics", {{"Authorization", "Bearer op3rator-secret-0"}});
  EXPECT_TRUE(metric_value(metrics.body, "tandem_uptime_seconds").has_value()) << metrics.body;
}

}  // namespace
}  // namespace tandem::test
