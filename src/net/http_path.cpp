#include "net/http_path.hpp"

#include <charconv>

namespace tandem::net {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view path_of(std::string_view target) noexcept {
  const std::size_t q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::optional<std::string> query_param(std::string_view target, std::string_view key) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  if (const std::size_t hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::string value;
    value.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        value.push_back(' ');
      } else if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 &&
                 hex_value(raw[i + 2]) >= 0) {
        value.push_back(static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2])));
        i += 2;
      } else {
        value.push_back(raw[i]);
      }
    }
    return value;
  }
  return std::nullopt;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool match_pattern(std::string_view pattern, std::span<const std::string_view> parts,
                   std::vector<std::string_view>& params) {
  params.clear();
  std::size_t i = 0;  // walks the pattern's segments without building them
  std::size_t start = 0;
  while (start <= pattern.size()) {
    std::size_t end = pattern.find('/', start);
    if (end == std::string_view::npos) end = pattern.size();
    if (end > start) {
      const std::string_view wanted = pattern.substr(start, end - start);
      if (i == parts.size()) return false;
      if (wanted.starts_with('{') && wanted.ends_with('}')) {
        params.push_back(parts[i]);
      } else if (wanted != parts[i]) {
        return false;
      }
      ++i;
    }
    start = end + 1;
  }
  return i == parts.size();
}

std::optional<std::size_t> limit_param(std::string_view target, std::size_t fallback,
                                       std::size_t max) {
  const auto text = query_param(target, "limit");
  if (!text) return fallback;
  std::size_t value = 0;
  const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || p != text->data() + text->size() || value < 1 || value > max) {
    return std::nullopt;
  }
  return value;
}

}  // namespace tandem::net
