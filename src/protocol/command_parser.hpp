#pragma once
// JSON text of one WebSocket text frame -> a validated Command, or the ERROR to send back.
#include "protocol/command.hpp"
#include "protocol/error_code.hpp"

#include <string_view>
#include <variant>

namespace tandem::protocol {

using ParseResult = std::variant<Command, ProtocolError>;

// Pure and thread-compatible. Never throws. Rules (PROTOCOL.md):
// - text must be one JSON object (else INVALID_JSON), nesting <= kMaxJsonDepth;
// - "type" must be a string; known types are validated field by field (BAD_REQUEST
//   with a message naming the field); JSON null counts as an absent optional field;
// - userId/roomId inside non-JOIN messages are not validated (they are ignored).
ParseResult parse_command(std::string_view text);

}  // namespace tandem::protocol
