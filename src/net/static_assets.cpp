#include "net/static_assets.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace tandem::net {

namespace http = beast::http;

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return lower(x) == lower(y);
  });
}

bool ends_with_ci(std::string_view text, std::string_view suffix) noexcept {
  return text.size() >= suffix.size() && iequals(text.substr(text.size() - suffix.size()), suffix);
}

// A non-empty run of decimal digits that fits in size_t.
std::optional<std::size_t> parse_size(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

bool is_ipv6_char(char c) noexcept {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
         c == '.';
}

// True when an If-None-Match value ("a", "b" or *) names `etag`.
bool etag_listed(std::string_view header, std::string_view etag) noexcept {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);  // weak comparison, as for GET
    if (item == "*" || item == etag) return true;
  }
  return false;
}

}  // namespace

std::string_view content_type_for(std::string_view path) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webm", "video/webm"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  for (const auto& [suffix, type] : kTypes) {
    if (ends_with_ci(path, suffix)) return type;
  }
  return "application/octet-stream";
}

RangeRequest parse_range(std::string_view header, std::size_t size) noexcept {
  constexpr std::string_view unit = "bytes=";
  if (header.size() < unit.size() || !iequals(header.substr(0, unit.size()), unit)) return {};
  std::string_view spec = header.substr(unit.size());
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  if (spec.find(',') != std::string_view::npos) return {};  // several ranges: whole file
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);
  const RangeRequest unsatisfiable{RangeKind::unsatisfiable, {}};

  if (first_text.empty()) {  // suffix: the last N bytes
    const auto count = parse_size(last_text);
    if (!count) return {};
    if (*count == 0 || size == 0) return unsatisfiable;
    return {RangeKind::satisfiable, {size - std::min(*count, size), size - 1}};
  }
  const auto first = parse_size(first_text);
  if (!first) return {};
  std::optional<std::size_t> last;
  if (!last_text.empty()) {
    last = parse_size(last_text);
    if (!last || *last < *first) return {};
  }
  if (*first >= size) return unsatisfiable;
  return {RangeKind::satisfiable, {*first, last ? std::min(*last, size - 1) : size - 1}};
}

std::optional<std::string> url_origin(std::string_view url) {
  std::string scheme;
  if (url.size() > 7 && iequals(url.substr(0, 7), "http://")) {
    scheme = "http";
    url.remove_prefix(7);
  } else if (url.size() > 8 && iequals(url.substr(0, 8), "https://")) {
    scheme = "https";
    url.remove_prefix(8);
  } else {
    return std::nullopt;
  }
  const std::string_view authority = url.substr(0, url.find_first_of("/?#"));
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with('[')) {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos || close < 2) return std::nullopt;
    if (!std::all_of(host.begin() + 1, host.begin() + static_cast<std::ptrdiff_t>(close),
                     is_ipv6_char)) {
      return std::nullopt;
    }
    const std::string_view rest = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    if (const std::size_t colon = host.find(':'); colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) return std::nullopt;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), is_host_char)) return std::nullopt;
  }
  if (!port.empty()) {
    const auto number = parse_size(port);
    if (!number || *number == 0 || *number > 65535 || port.size() > 5) return std::nullopt;
  }
  return scheme + "://" + std::string(authority);
}

std::string demo_csp(const std::optional<std::string>& video_src) {
  std::string media = "'self'";
  if (video_src) {
    if (auto origin = url_origin(*video_src)) media += " " + *origin;
  }
  // connect-src 'self' covers ws:// and wss:// to this host (CSP Level 3). WebRTC media is
  // not fetched, so it needs no directive; camera and microphone are asked for by the page.
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
         "media-src " +
         media +
         "; connect-src 'self'; base-uri 'none'; form-action 'self'; "
         "frame-ancestors 'none'";
}

std::string dashboard_csp() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
         "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

StaticAssets::StaticAssets(std::span<const EmbeddedFile> files)
    : files_(files.begin(), files.end()) {
  std::sort(files_.begin(), files_.end(),
            [](const EmbeddedFile& a, const EmbeddedFile& b) { return a.path < b.path; });
}

const EmbeddedFile* StaticAssets::find(std::string_view url_path) const {
  const auto lookup = [this](std::string_view path) -> const EmbeddedFile* {
    const auto it = std::lower_bound(
        files_.begin(), files_.end(), path,
        [](const EmbeddedFile& file, std::string_view key) { return file.path < key; });
    return it != files_.end() && it->path == path ? &*it : nullptr;
  };
  if (url_path.empty() || url_path.front() != '/') return nullptr;
  if (url_path.back() == '/') return lookup(std::string(url_path) + "index.html");
  if (const EmbeddedFile* file = lookup(url_path)) return file;
  return lookup(std::string(url_path) + "/index.html");
}

http::response<http::string_body> static_response(const http::request<http::string_body>& request,
                                                  const EmbeddedFile& file, std::string_view csp) {
  const std::size_t size = file.data.size();
  http::status status = http::status::ok;
  std::string_view body = file.data;
  std::optional<std::string> content_range;

  const auto if_none_match = request[http::field::if_none_match];
  if (!if_none_match.empty() &&
      etag_listed(std::string_view(if_none_match.data(), if_none_match.size()), file.etag)) {
    status = http::status::not_modified;
    body = {};
  } else if (const auto range_header = request[http::field::range]; !range_header.empty()) {
    // If-Range with another validator: the file changed, send all of it.
    const auto if_range = request[http::field::if_range];
    const bool range_applies =
        if_range.empty() || std::string_view(if_range.data(), if_range.size()) == file.etag;
    const RangeRequest range =
        range_applies
            ? parse_range(std::string_view(range_header.data(), range_header.size()), size)
            : RangeRequest{};
    if (range.kind == RangeKind::satisfiable) {
      status = http::status::partial_content;
      body = file.data.substr(range.range.first, range.range.last - range.range.first + 1);
      content_range = "bytes " + std::to_string(range.range.first) + "-" +
                      std::to_string(range.range.last) + "/" + std::to_string(size);
    } else if (range.kind == RangeKind::unsatisfiable) {
      status = http::status::range_not_satisfiable;
      body = {};
      content_range = "bytes */" + std::to_string(size);
    }
  }

  http::response<http::string_body> res{status, request.version()};
  res.set(http::field::server, "tandem-server");
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::etag, file.etag);
  res.set(http::field::accept_ranges, "bytes");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy", csp);
  res.set("X-Frame-Options", "DENY");  // frame-ancestors 'none' for browsers without CSP 2
  if (status != http::status::not_modified) {
    res.set(http::field::content_type, status == http::status::range_not_satisfiable
                                           ? "text/plain; charset=utf-8"
                                           : content_type_for(file.path));
  }
  if (content_range) res.set(http::field::content_range, *content_range);
  res.keep_alive(request.keep_alive());
  res.body().assign(body.data(), body.size());
  res.prepare_payload();
  if (request.method() == http::verb::head && !res.body().empty()) {
    const std::size_t length = res.body().size();
    res.body().clear();
    res.content_length(length);  // what a GET would carry; no body follows
  }
  return res;
}

}  // namespace tandem::net
