#pragma once
// Identifier and size limits of the wire protocol (PROTOCOL.md, "Identifiers and limits").
#include <cstddef>
#include <cstdint>

namespace tandem::protocol {

inline constexpr std::size_t kMaxFrameBytes = std::size_t{64} * 1024;  // larger frame -> close 1009
inline constexpr std::size_t kMaxRoomIdLength = 50;        // [A-Za-z0-9_-]{1,50}
inline constexpr std::size_t kMaxUserIdLength = 100;       // [A-Za-z0-9_-]{1,100}
inline constexpr std::size_t kMaxUsernameChars = 50;       // code points, after trimming
inline constexpr std::size_t kMaxStackedMarks = 3;         // consecutive Mn/Me marks kept per base
inline constexpr std::size_t kMinPinDigits = 4;
inline constexpr std::size_t kMaxPinDigits = 12;
inline constexpr std::size_t kMaxUrlLength = 2048;
inline constexpr std::size_t kMaxTypeLength = 64;           // message "type" of fallback messages
inline constexpr std::size_t kMaxJsonDepth = 16;            // nesting accepted in a client message
inline constexpr std::size_t kMaxCapabilities = 32;         // names in JOIN.capabilities
inline constexpr std::size_t kMaxCapabilityLength = 64;     // characters of one name
inline constexpr std::uint64_t kMaxSequenceNumber = std::uint64_t{1} << 53;  // exact in JavaScript

}  // namespace tandem::protocol
