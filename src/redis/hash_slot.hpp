#pragma once
// Redis Cluster's key -> slot rule (the cluster specification): CRC16 (XMODEM) of the key,
// or of its hash tag (the part between the first '{' and the next '}', when not empty),
// modulo 16384. Every key of a room carries the tag {room:ID}, so a room lives in one slot.
#include <cstdint>
#include <string_view>

namespace tandem::redis {

inline constexpr std::uint16_t kSlotCount = 16384;

std::uint16_t crc16(std::string_view data) noexcept;
std::uint16_t hash_slot(std::string_view key) noexcept;

}  // namespace tandem::redis
