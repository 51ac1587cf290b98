#include "redis/redis_config.hpp"

#include <charconv>

namespace tandem::redis {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty()) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::optional<RedisConfig> fail(std::string* error, std::string reason) {
  if (error != nullptr) *error = std::move(reason);
  return std::nullopt;
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::optional<Endpoint> parse_endpoint(std::string_view item) {
  std::string_view host;
  std::string_view port;
  if (item.starts_with('[')) {  // [v6]:port
    const auto close = item.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = item.substr(1, close - 1);
    port = item.substr(close + 2);
  } else {
    const auto colon = item.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = item.substr(0, colon);
    port = item.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
  }
  return make_endpoint(host, port);
}

}  // namespace

std::optional<Endpoint> make_endpoint(std::string_view host, std::string_view port) {
  Endpoint out{std::string(host), 0};
  if (host.empty() || !parse_port(port, out.port)) return std::nullopt;
  return out;
}

std::optional<std::vector<Endpoint>> parse_endpoints(std::string_view list, std::string* error) {
  std::vector<Endpoint> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    const auto endpoint = parse_endpoint(item);
    if (!endpoint) {
      // append(), not "'" + std::string: GCC 12 at -O3 warns -Wrestrict on the latter.
      if (error != nullptr) *error = std::string("'").append(item).append("' is not host:port");
      return std::nullopt;
    }
    out.push_back(*endpoint);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (out.empty() || out.size() > 16) {
    if (error != nullptr) *error = "1 to 16 host:port entries, comma-separated";
    return std::nullopt;
  }
  return out;
}

std::optional<RedisConfig> parse_redis_url(std::string_view url, std::string* error,
                                           RedisConfig base) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return fail(error, "REDIS_URL must start with redis://");
  std::string_view rest = url.substr(scheme.size());

  // Authority ends at the first '/'; what follows is the db number.
  std::string_view authority = rest;
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }

  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return fail(error, "REDIS_URL credentials must be [username]:password@");
    }
    auto user = percent_decode(userinfo.substr(0, colon));
    auto pass = percent_decode(userinfo.substr(colon + 1));
    if (!user || !pass) return fail(error, "REDIS_URL has an invalid percent escape");
    base.username = std::move(*user);
    base.password = std::move(*pass);
  }

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(error, "REDIS_URL has an unclosed [");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(error, "REDIS_URL has junk after ]");
      port = after.substr(1);
      if (port.empty()) return fail(error, "REDIS_URL has an empty port");
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return fail(error, "REDIS_URL has an empty port");
  }
  if (host.empty()) return fail(error, "REDIS_URL has no host");
  base.host = std::string(host);

  base.port = 6379;
  if (!port.empty()) {
    std::uint32_t value = 0;
    if (!parse_int(port, value) || value == 0 || value > 65535) {
      return fail(error, "REDIS_URL port must be 1-65535");
    }
    base.port = static_cast<std::uint16_t>(value);
  }

  base.db = 0;
  if (!path.empty()) {
    int db = 0;
    if (!parse_int(path, db) || db < 0) {
      return fail(error, "REDIS_URL db must be a non-negative integer");
    }
    base.db = db;
  }
  return base;
}

}  // namespace tandem::redis
