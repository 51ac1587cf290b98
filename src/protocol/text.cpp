#include "protocol/text.hpp"

#include "protocol/limits.hpp"
#include "protocol/unicode_tables.hpp"

namespace tandem::protocol {
namespace {

bool is_identifier_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_ignore_case(std::string_view text, std::string_view prefix) noexcept {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(text[i]) != prefix[i]) {
      return false;
    }
  }
  return true;
}

// Removed from usernames wherever they are. C0, DEL and C1 controls, and the line and
// paragraph separators: some (newlines) break the layout of every other member's sidebar.
// Format characters (Cf): bidi overrides and isolates reorder what follows them (a name
// that ends in U+202E shows the next text backwards), zero-width ones make look-alike names.
bool is_invisible(char32_t cp) noexcept {
  return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         is_format_character(cp);
}

// What JavaScript's String.prototype.trim() removes (WhiteSpace and LineTerminator),
// minus the invisible characters, which are removed anyway.
bool is_white_space(char32_t cp) noexcept {
  switch (cp) {
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x2000 && cp <= 0x200A);
  }
}

struct Decoded {
  char32_t code_point = 0;
  std::size_t length = 0;  // 0: not a valid UTF-8 sequence at this position
};

bool is_continuation(unsigned char byte) noexcept {
  return (byte & 0xC0) == 0x80;
}

// Strict UTF-8 decoding (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF. The JSON parser already guarantees valid input; being strict here costs little
// and keeps this function safe to call on any bytes.
Decoded decode_utf8(std::string_view text, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const std::size_t left = text.size() - pos;
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) {
    return {b0, 1};
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !is_continuation(byte(1))) {
      return {};
    }
    return {static_cast<char32_t>(((b0 & 0x1Fu) << 6) | (byte(1) & 0x3Fu)), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !is_continuation(byte(1)) || !is_continuation(byte(2))) {
      return {};
    }
    if ((b0 == 0xE0 && byte(1) < 0xA0) || (b0 == 0xED && byte(1) > 0x9F)) {
      return {};  // overlong, or a UTF-16 surrogate
    }
    return {
        static_cast<char32_t>(((b0 & 0x0Fu) << 12) | ((byte(1) & 0x3Fu) << 6) | (byte(2) & 0x3Fu)),
        3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !is_continuation(byte(1)) || !is_continuation(byte(2)) ||
        !is_continuation(byte(3))) {
      return {};
    }
    if ((b0 == 0xF0 && byte(1) < 0x90) || (b0 == 0xF4 && byte(1) > 0x8F)) {
      return {};  // overlong, or above U+10FFFF
    }
    return {static_cast<char32_t>(((b0 & 0x07u) << 18) | ((byte(1) & 0x3Fu) << 12) |
                                  ((byte(2) & 0x3Fu) << 6) | (byte(3) & 0x3Fu)),
            4};
  }
  return {};
}

}  // namespace

bool is_valid_identifier(std::string_view text, std::size_t max_length) noexcept {
  if (text.empty() || text.size() > max_length) {
    return false;
  }
  for (const char c : text) {
    if (!is_identifier_char(c)) {
      return false;
    }
  }
  return true;
}

bool is_valid_room_id(std::string_view text) noexcept {
  return is_valid_identifier(text, kMaxRoomIdLength);
}

bool is_valid_user_id(std::string_view text) noexcept {
  return is_valid_identifier(text, kMaxUserIdLength);
}

bool is_valid_pin(std::string_view text) noexcept {
  if (text.size() < kMinPinDigits || text.size() > kMaxPinDigits) {
    return false;
  }
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

bool is_valid_url(std::string_view text) noexcept {
  if (text.size() > kMaxUrlLength) {
    return false;
  }
  std::size_t scheme_length = 0;
  if (starts_with_ignore_case(text, "https://")) {
    scheme_length = 8;
  } else if (starts_with_ignore_case(text, "http://")) {
    scheme_length = 7;
  } else {
    return false;
  }
  if (text.size() == scheme_length) {
    return false;
  }
  // Non-ASCII bytes are allowed (internationalized URLs arrive unescaped from some pages);
  // ASCII controls and spaces never belong in a URL and would only serve to confuse logs.
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      return false;
    }
  }
  return true;
}

bool is_reserved_user_id(std::string_view text) noexcept {
  return text == kServerUserId;
}

std::optional<std::string> sanitize_username(std::string_view text) {
  // One pass: invisible characters are dropped, leading white space is skipped, marks past
  // the cap are dropped, code points are appended until kMaxUsernameChars, and
  // `content_end` remembers where the last non-white-space code point ended so trailing
  // white space (including white space the cut exposed) is trimmed at the end.
  std::string out;
  out.reserve(text.size() < kMaxUsernameChars * 4 ? text.size() : kMaxUsernameChars * 4);
  std::size_t content_end = 0;
  std::size_t count = 0;
  std::size_t marks = 0;  // consecutive stacking marks kept since the last other character
  std::size_t pos = 0;
  while (pos < text.size() && count < kMaxUsernameChars) {
    const Decoded decoded = decode_utf8(text, pos);
    if (decoded.length == 0) {
      ++pos;  // invalid byte: drop it so the result stays valid UTF-8
      continue;
    }
    const std::string_view sequence = text.substr(pos, decoded.length);
    pos += decoded.length;
    if (is_invisible(decoded.code_point)) {
      continue;  // a dropped character does not end a run of marks around it
    }
    if (is_stacking_mark(decoded.code_point)) {
      // A mark needs a base; past the cap a run is a stack that overflows the line.
      if (out.empty() || marks >= kMaxStackedMarks) continue;
      ++marks;
    } else {
      marks = 0;
    }
    const bool white = is_white_space(decoded.code_point);
    if (white && out.empty()) {
      continue;
    }
    out.append(sequence);
    ++count;
    if (!white) {
      content_end = out.size();
    }
  }
  out.resize(content_end);
  if (out.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace tandem::protocol
