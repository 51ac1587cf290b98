#pragma once
// Text rules shared by the protocol: identifiers, usernames, PINs, URLs.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::protocol {

// 1..max_length chars of [A-Za-z0-9_-].
bool is_valid_identifier(std::string_view text, std::size_t max_length) noexcept;
bool is_valid_room_id(std::string_view text) noexcept;
bool is_valid_user_id(std::string_view text) noexcept;
// The userId the server speaks as (the ready gate's PLAY_PAUSE, SYNC_RESPONSE's fromUserId):
// no client may join under it, or its messages would pass for the server's.
inline constexpr std::string_view kServerUserId = "server";
bool is_reserved_user_id(std::string_view text) noexcept;
// 4..12 ASCII digits.
bool is_valid_pin(std::string_view text) noexcept;
// http:// or https:// (scheme case-insensitive), <= 2048 bytes, no control characters or spaces.
bool is_valid_url(std::string_view text) noexcept;

// Username rule: input is valid UTF-8 (the JSON parser guarantees it). Removes control
// characters (C0, DEL, C1), the line and paragraph separators (U+2028, U+2029) and every
// format character (general category Cf), keeps at most kMaxStackedMarks consecutive
// combining marks (Mn, Me) after a base character (none before the first), trims Unicode
// white space at both ends, keeps at most kMaxUsernameChars code points. Empty -> nullopt.
std::optional<std::string> sanitize_username(std::string_view text);

}  // namespace tandem::protocol
