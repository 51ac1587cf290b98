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
// 4..12 ASCII digits.
bool is_valid_pin(std::string_view text) noexcept;
// http:// or https:// (scheme case-insensitive), <= 2048 bytes, no control characters or spaces.
bool is_valid_url(std::string_view text) noexcept;

// Username rule: input is valid UTF-8 (the JSON parser guarantees it). Removes control
// characters (C0, DEL, C1), trims Unicode white space at both ends, keeps at most
// kMaxUsernameChars code points. Empty result -> nullopt.
std::optional<std::string> sanitize_username(std::string_view text);

}  // namespace tandem::protocol
