#pragma once
// Small helpers shared by the protocol unit tests.
#include "protocol/command_parser.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tandem::protocol::test {

// The command of type T parsed from `text`, or nullopt (and a test failure) otherwise.
template <class T>
std::optional<T> parse_as(std::string_view text) {
  ParseResult result = parse_command(text);
  if (const auto* error = std::get_if<ProtocolError>(&result)) {
    ADD_FAILURE() << "unexpected error " << to_string(error->code) << " '" << error->message
                  << "' for " << text.substr(0, 200);
    return std::nullopt;
  }
  Command& command = std::get<Command>(result);
  if (auto* typed = std::get_if<T>(&command)) {
    return std::move(*typed);
  }
  ADD_FAILURE() << "unexpected command " << command_type(command) << " for " << text.substr(0, 200);
  return std::nullopt;
}

// The error parsed from `text`, or nullopt (and a test failure) when it parsed.
inline std::optional<ProtocolError> parse_error(std::string_view text) {
  ParseResult result = parse_command(text);
  if (auto* error = std::get_if<ProtocolError>(&result)) {
    return std::move(*error);
  }
  ADD_FAILURE() << "expected an error, got " << command_type(std::get<Command>(result)) << " for "
                << text.substr(0, 200);
  return std::nullopt;
}

// Expects `text` to be refused with `code` and a message containing `mention`.
inline void expect_error(std::string_view text, ErrorCode code, std::string_view mention = {}) {
  SCOPED_TRACE(std::string(text.substr(0, 200)));
  const std::optional<ProtocolError> error = parse_error(text);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(to_string(error->code), to_string(code)) << error->message;
  EXPECT_NE(error->message.find(mention), std::string::npos)
      << "message '" << error->message << "' does not mention '" << mention << "'";
}

inline void expect_bad_request(std::string_view text, std::string_view field) {
  expect_error(text, ErrorCode::bad_request, field);
}

inline void expect_invalid_json(std::string_view text) {
  expect_error(text, ErrorCode::invalid_json);
}

// True when `text` is well-formed UTF-8 (RFC 3629), written independently of text.cpp.
inline bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (b < 0x80) {
      length = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      length = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      length = 3;
      low = b == 0xE0 ? 0xA0 : 0x80;
      high = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
      length = 4;
      low = b == 0xF0 ? 0x90 : 0x80;
      high = b == 0xF4 ? 0x8F : 0xBF;
    } else {
      return false;
    }
    if (i + length > text.size()) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      const unsigned char lo = k == 1 ? low : 0x80;
      const unsigned char hi = k == 1 ? high : 0xBF;
      if (c < lo || c > hi) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

// Number of code points of valid UTF-8 text.
inline std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++count;
    }
  }
  return count;
}

}  // namespace tandem::protocol::test
