// The embedded web files: lookup, content types, byte ranges, validators and the CSP.
#include "net/static_assets.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace tandem::net {
namespace {

namespace http = beast::http;

using Request = http::request<http::string_body>;

Request get(std::string target) {
  Request req{http::verb::get, target, 11};
  return req;
}

TEST(StaticAssetsTest, EmbedsTheDemoAndTheDashboard) {
  const StaticAssets assets;
  for (const char* path :
       {"/demo/index.html", "/demo/demo.js", "/demo/demo.css", "/demo/clip.webm",
        "/dashboard/index.html", "/dashboard/dashboard.js", "/dashboard/dashboard.css"}) {
    const EmbeddedFile* file = assets.find(path);
    ASSERT_NE(file, nullptr) << path;
    EXPECT_FALSE(file->data.empty()) << path;
    EXPECT_EQ(file->etag.front(), '"') << path;
    EXPECT_EQ(file->etag.back(), '"') << path;
  }
  const EmbeddedFile* page = assets.find("/demo/index.html");
  EXPECT_NE(page->data.find("data-testid=\"status\""), std::string_view::npos);
  // The clip is a WebM (EBML magic) small enough to embed.
  const EmbeddedFile* clip = assets.find("/demo/clip.webm");
  EXPECT_EQ(clip->data.substr(0, 4), std::string_view("\x1a\x45\xdf\xa3", 4));
  EXPECT_LT(clip->data.size(), 300u * 1024u);
  // Distinct contents, distinct validators.
  EXPECT_NE(page->etag, clip->etag);
}

TEST(StaticAssetsTest, DirectoryPathsServeTheirIndex) {
  const StaticAssets assets;
  const EmbeddedFile* index = assets.find("/demo/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(assets.find("/demo"), index);
  EXPECT_EQ(assets.find("/demo/"), index);
  EXPECT_EQ(assets.find("/dashboard"), assets.find("/dashboard/index.html"));
  EXPECT_EQ(assets.find("/demo/nope.js"), nullptr);
  EXPECT_EQ(assets.find("/demo/../dashboard/index.html"), nullptr);
  EXPECT_EQ(assets.find("demo"), nullptr);
  EXPECT_EQ(assets.find(""), nullptr);
  EXPECT_EQ(assets.find("/"), nullptr);
}

TEST(StaticAssetsTest, ContentTypes) {
  EXPECT_EQ(content_type_for("/a/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("/a/x.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("/a/x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("/a/x.webm"), "video/webm");
  EXPECT_EQ(content_type_for("/a/x.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("/a/X.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("/a/x"), "application/octet-stream");
  EXPECT_EQ(content_type_for("/a/x.exe"), "application/octet-stream");
}

TEST(StaticAssetsTest, ParsesOneByteRange) {
  const auto check = [](std::string_view header, std::size_t size, RangeKind kind,
                        std::size_t first = 0, std::size_t last = 0) {
    const RangeRequest r = parse_range(header, size);
    EXPECT_EQ(r.kind, kind) << header;
    if (kind == RangeKind::satisfiable && r.kind == kind) {
      EXPECT_EQ(r.range.first, first) << header;
      EXPECT_EQ(r.range.last, last) << header;
    }
  };
  check("bytes=0-", 1000, RangeKind::satisfiable, 0, 999);
  check("bytes=10-99", 1000, RangeKind::satisfiable, 10, 99);
  check("bytes=990-5000", 1000, RangeKind::satisfiable, 990, 999);
  check("bytes=-100", 1000, RangeKind::satisfiable, 900, 999);
  check("bytes=-5000", 1000, RangeKind::satisfiable, 0, 999);
  check("Bytes=5-5", 1000, RangeKind::satisfiable, 5, 5);
  check("bytes=1000-", 1000, RangeKind::unsatisfiable);
  check("bytes=-0", 1000, RangeKind::unsatisfiable);
  check("bytes=0-", 0, RangeKind::unsatisfiable);
  // Not served as one range: the whole file.
  check("bytes=0-1,5-6", 1000, RangeKind::none);
  check("bytes=9-1", 1000, RangeKind::none);
  check("items=0-1", 1000, RangeKind::none);
  check("bytes=a-", 1000, RangeKind::none);
  check("bytes=", 1000, RangeKind::none);
  check("bytes=-", 1000, RangeKind::none);
  check("bytes=99999999999999999999999-", 1000, RangeKind::none);
}

TEST(StaticAssetsTest, UrlOrigin) {
  EXPECT_EQ(url_origin("https://cdn.example.com/films/a.webm?x=1"), "https://cdn.example.com");
  EXPECT_EQ(url_origin("http://127.0.0.1:8080/a.webm"), "http://127.0.0.1:8080");
  EXPECT_EQ(url_origin("HTTPS://Example.org"), "https://Example.org");
  EXPECT_EQ(url_origin("http://[::1]:9000/v.webm"), "http://[::1]:9000");
  EXPECT_EQ(url_origin("https://example.com#frag"), "https://example.com");
  for (const char* bad :
       {"ftp://example.com/a", "javascript:alert(1)", "https://", "http:///a",
        "https://user:pw@example.com/", "https://exa mple.com/", "https://example.com;script-src *",
        "https://example.com:/a", "https://example.com:99999/", "https://example.com:80x/",
        "http://[::1/", "http://[zz]/", "https://a.com'/", "//example.com/"}) {
    EXPECT_EQ(url_origin(bad), std::nullopt) << bad;
  }
}

TEST(StaticAssetsTest, CspAllowsOnlyTheVideoOrigin) {
  const std::string plain = demo_csp(std::nullopt);
  EXPECT_NE(plain.find("default-src 'none'"), std::string::npos) << plain;
  EXPECT_NE(plain.find("script-src 'self';"), std::string::npos) << plain;
  EXPECT_NE(plain.find("media-src 'self';"), std::string::npos) << plain;
  EXPECT_NE(plain.find("connect-src 'self'"), std::string::npos) << plain;
  EXPECT_NE(plain.find("frame-ancestors 'none'"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("unsafe"), std::string::npos) << plain;

  const std::string with_src = demo_csp(std::string("https://cdn.example.com/a.webm"));
  EXPECT_NE(with_src.find("media-src 'self' https://cdn.example.com;"), std::string::npos)
      << with_src;
  // A src that could inject a directive is not added.
  const std::string injected = demo_csp(std::string("https://x.com; script-src *"));
  EXPECT_EQ(injected, plain);

  const std::string dashboard = dashboard_csp();
  EXPECT_NE(dashboard.find("connect-src 'self'"), std::string::npos);
  EXPECT_EQ(dashboard.find("media-src"), std::string::npos);
}

class StaticResponseTest : public ::testing::Test {
 protected:
  static constexpr std::string_view kData = "0123456789";
  EmbeddedFile file_{"/demo/x.js", kData, "\"abc\""};
};

TEST_F(StaticResponseTest, WholeFile) {
  const auto res = static_response(get("/demo/x.js"), file_, "default-src 'none'");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), kData);
  EXPECT_EQ(res[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(res[http::field::content_length], "10");
  EXPECT_EQ(res[http::field::cache_control], "no-cache");
  EXPECT_EQ(res[http::field::etag], "\"abc\"");
  EXPECT_EQ(res[http::field::accept_ranges], "bytes");
  EXPECT_EQ(res["Content-Security-Policy"], "default-src 'none'");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
}

TEST_F(StaticResponseTest, RangeIsPartialContent) {
  auto req = get("/demo/x.js");
  req.set(http::field::range, "bytes=2-4");
  const auto res = static_response(req, file_, "");
  EXPECT_EQ(res.result(), http::status::partial_content);
  EXPECT_EQ(res.body(), "234");
  EXPECT_EQ(res[http::field::content_range], "bytes 2-4/10");
  EXPECT_EQ(res[http::field::content_length], "3");

  req.set(http::field::range, "bytes=10-");
  const auto past = static_response(req, file_, "");
  EXPECT_EQ(past.result(), http::status::range_not_satisfiable);
  EXPECT_EQ(past[http::field::content_range], "bytes */10");
  EXPECT_TRUE(past.body().empty());

  // If-Range naming another version: the whole (current) file.
  req.set(http::field::range, "bytes=2-4");
  req.set(http::field::if_range, "\"old\"");
  const auto changed = static_response(req, file_, "");
  EXPECT_EQ(changed.result(), http::status::ok);
  EXPECT_EQ(changed.body(), kData);
}

TEST_F(StaticResponseTest, MatchingEtagIsNotModified) {
  for (const char* header : {"\"abc\"", "\"x\", \"abc\"", "W/\"abc\"", "*"}) {
    auto req = get("/demo/x.js");
    req.set(http::field::if_none_match, header);
    const auto res = static_response(req, file_, "");
    EXPECT_EQ(res.result(), http::status::not_modified) << header;
    EXPECT_TRUE(res.body().empty()) << header;
    EXPECT_EQ(res[http::field::etag], "\"abc\"") << header;
  }
  auto req = get("/demo/x.js");
  req.set(http::field::if_none_match, "\"other\"");
  EXPECT_EQ(static_response(req, file_, "").result(), http::status::ok);
}

TEST_F(StaticResponseTest, HeadHasTheLengthButNoBody) {
  auto req = get("/demo/x.js");
  req.method(http::verb::head);
  const auto res = static_response(req, file_, "");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res[http::field::content_length], "10");
}

TEST(StaticAssetsTest, EmptyTableFindsNothing) {
  const StaticAssets assets(std::span<const EmbeddedFile>{});
  EXPECT_EQ(assets.find("/demo"), nullptr);
}

}  // namespace
}  // namespace tandem::net
