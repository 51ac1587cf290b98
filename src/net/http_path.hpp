#pragma once
// Request targets, taken apart for the route table (http_routes.cpp): path, query values,
// path segments and route patterns. Pure functions, unit-tested without a server.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::net {

// "/a/b?x=1" -> "/a/b"; query value of `key` (percent-decoded), or nullopt.
std::string_view path_of(std::string_view target) noexcept;
std::optional<std::string> query_param(std::string_view target, std::string_view key);

// "/room/abc/1234/" -> {"room", "abc", "1234"}: empty segments (doubled or trailing
// slashes) are ignored, so "//health/" is "/health".
std::vector<std::string_view> segments(std::string_view path);

// Does a route pattern ("/api/rooms/{roomId}/events") match the path's segments? A
// "{name}" segment matches any one segment, which is appended to `params` in order;
// `params` is cleared first. "/" matches the empty path.
bool match_pattern(std::string_view pattern, std::span<const std::string_view> parts,
                   std::vector<std::string_view>& params);

// The ?limit= of a listing: `fallback` when absent; nullopt when it is not a whole number
// in 1..max.
std::optional<std::size_t> limit_param(std::string_view target, std::size_t fallback,
                                       std::size_t max);

}  // namespace tandem::net
