#pragma once
// JournalEntry <-> one line of JSON (no newline), the format of the journal's spill file.
// Pure: no IO. A snapshot carries its room state in the room codec's format.
//   {"k":"snapshot","at":..,"state":{..room_codec..}}
//   {"k":"archived","room_id":..,"at":..}
//   {"k":"audit","room_id":..,"event_type":..,"user_id":..,"data":{..},"at":..}
//   {"k":"short_id","short_id":..,"room_id":..,"expires_at":..}
#include "store/records.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace tandem::store {

std::string encode_entry(const JournalEntry& entry);
// nullopt for anything that is not exactly one entry of a known kind with valid fields.
std::optional<JournalEntry> decode_entry(std::string_view line);

// The room an entry belongs to ("" for none): logs of dropped entries.
const std::string& entry_room_id(const JournalEntry& entry);
std::string_view entry_kind(const JournalEntry& entry) noexcept;

}  // namespace tandem::store
