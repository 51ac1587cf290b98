#pragma once
// The web pages the server serves itself (/demo, /dashboard): files under web/ embedded in
// the binary at build time (cmake/embed_files.cmake), looked up by URL path, and answered
// with their content type, a Content-Security-Policy, an ETag and byte ranges (a <video>
// element asks for ranges).
#include "net/types.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::net {

struct EmbeddedFile {
  std::string_view path;  // URL path: "/demo/index.html"
  std::string_view data;
  std::string_view etag;  // strong validator, quoted
};

// Defined by the source generated from web/ (build folder, src/net/web_assets.cpp).
std::span<const EmbeddedFile> embedded_web_files();

// "text/html; charset=utf-8" for "x.html", ...; "application/octet-stream" when unknown.
std::string_view content_type_for(std::string_view path) noexcept;

// One byte range of a `size`-byte file, inclusive of both ends.
struct ByteRange {
  std::size_t first = 0;
  std::size_t last = 0;
};
enum class RangeKind { none, satisfiable, unsatisfiable };
struct RangeRequest {
  RangeKind kind = RangeKind::none;
  ByteRange range;
};
// A Range header ("bytes=0-", "bytes=10-99", "bytes=-500"). Anything this server does not
// serve as one range (other units, several ranges, malformed) is `none`: the whole file is
// sent, as RFC 9110 allows. A well-formed range that starts past the end is unsatisfiable.
RangeRequest parse_range(std::string_view header, std::size_t size) noexcept;

// The origin ("https://cdn.example:8443") of an http(s) URL with a plain host name, IPv4
// or bracketed IPv6 address and optional port; nullopt for anything else (user info,
// other schemes, characters that could break out of a header value).
std::optional<std::string> url_origin(std::string_view url);

// Content-Security-Policy of the demo page: its own scripts and styles, WebSocket to this
// origin, media from this origin (the test clip) and from the origin of `video_src`.
std::string demo_csp(const std::optional<std::string>& video_src);
// Content-Security-Policy of the dashboard: its own scripts and styles, fetch to this origin.
std::string dashboard_csp();

class StaticAssets {
 public:
  explicit StaticAssets(std::span<const EmbeddedFile> files = embedded_web_files());

  // The file for a URL path: "/demo" and "/demo/" are "/demo/index.html". nullptr if none.
  const EmbeddedFile* find(std::string_view url_path) const;

 private:
  std::vector<EmbeddedFile> files_;  // sorted by path
};

// The answer for GET/HEAD of `file`: 200, 206 (one range), 304 (If-None-Match matches) or
// 416, with Content-Type, Cache-Control: no-cache (revalidate: the binary may change under
// the same URL), ETag, Accept-Ranges, the CSP and the usual hardening headers. HEAD gets
// the headers and no body.
beast::http::response<beast::http::string_body> static_response(
    const beast::http::request<beast::http::string_body>& request, const EmbeddedFile& file,
    std::string_view csp);

}  // namespace tandem::net
