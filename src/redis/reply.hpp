#pragma once
// A Redis reply as a plain value, copied out of hiredis's redisReply so that no hiredis type
// reaches a caller.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::redis {

// First word of the errors this client makes up itself (Redis's own errors keep theirs:
// ERR, WRONGTYPE, NOSCRIPT, NOAUTH, ...).
inline constexpr std::string_view kErrDisconnected = "DISCONNECTED";       // not connected now
inline constexpr std::string_view kErrOverloaded = "OVERLOADED";           // pending bound hit
inline constexpr std::string_view kErrConnectionLost = "CONNECTION_LOST";  // dropped in flight

struct Reply {
  enum class Type { nil, integer, string, status, error, array };

  Type type = Type::nil;
  std::int64_t integer = 0;     // Type::integer
  std::string str;              // Type::string, status (e.g. "OK") and error (whole message)
  std::vector<Reply> elements;  // Type::array

  static Reply nil() { return {}; }
  static Reply from_integer(std::int64_t v);
  static Reply from_string(std::string s);
  static Reply from_status(std::string s);
  static Reply from_error(std::string s);
  static Reply from_array(std::vector<Reply> elements);

  bool is_nil() const noexcept { return type == Type::nil; }
  bool is_error() const noexcept { return type == Type::error; }
  bool is_integer() const noexcept { return type == Type::integer; }
  bool is_string() const noexcept { return type == Type::string; }
  bool is_status() const noexcept { return type == Type::status; }
  bool is_array() const noexcept { return type == Type::array; }
  // The first word of an error ("NOSCRIPT", "DISCONNECTED", ...); empty if not an error.
  std::string_view error_code() const noexcept;

  friend bool operator==(const Reply&, const Reply&) = default;
};

// For test failure messages and logs: nil, 42, "text", +OK, -ERR ..., [a, b].
std::string to_debug_string(const Reply& reply);

}  // namespace tandem::redis
