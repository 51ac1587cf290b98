#pragma once
// Protocol errors: the machine-readable `code` of an ERROR frame.
#include <string>
#include <string_view>

namespace tandem::protocol {

enum class ErrorCode {
  bad_request,
  invalid_json,
  not_joined,
  pin_required,
  pin_locked,
  forbidden,
  rate_limited,
  internal,
};

// "BAD_REQUEST", "INVALID_JSON", ... as sent on the wire.
std::string_view to_string(ErrorCode code) noexcept;

struct ProtocolError {
  ErrorCode code;
  std::string message;  // human readable, sent as ERROR.message
};

}  // namespace tandem::protocol
