#pragma once
// The arithmetic of the audit log's quotas (docs/STORAGE.md, "Bounds"), shared by both
// stores and the journal. Pure.
#include "store/store.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::store {

// What one room_events row counts: its text columns and JSON as stored, plus a fixed 64
// bytes for the id, the timestamp and the two index entries. Migrations fill size_bytes of
// older rows with the same sum computed in SQL.
inline constexpr std::int64_t kAuditRowOverhead = 64;
std::int64_t audit_row_bytes(std::string_view room_id, std::string_view event_type,
                             std::string_view user_id, std::size_t data_bytes) noexcept;

// A quota of 0 is no quota.
inline bool over_quota(std::int64_t bytes, std::int64_t quota) noexcept {
  return quota > 0 && bytes > quota;
}
// Trimming stops at 90 % of the quota, so that a room at its quota is trimmed in chunks of
// a tenth of it, not on every batch.
inline std::int64_t quota_target(std::int64_t quota) noexcept { return quota - quota / 10; }

// A room_events row's id and counted size.
struct SizedRow {
  std::int64_t id = 0;
  std::int64_t bytes = 0;
};
// Of rows in id order (oldest first), the id of the last one to delete so that the oldest
// ones up to it free at least `excess` bytes (the last row when they all do not add up to
// it); nullopt when nothing is to be deleted.
std::optional<std::int64_t> cut_id(const std::vector<SizedRow>& rows, std::int64_t excess) noexcept;

// Rows one call added or deleted, per room (in room id order: a store updates
// room_event_usage rows in that order, so that two nodes' transactions never wait on each
// other's rows in opposite orders), and in total.
class AuditTally {
 public:
  void add(const std::string& room_id, std::int64_t bytes);
  const std::map<std::string, AuditUsage>& by_room() const noexcept { return by_room_; }
  AuditDeleted total() const noexcept { return total_; }

 private:
  std::map<std::string, AuditUsage> by_room_;  // bytes and rows of each room
  AuditDeleted total_;
};

}  // namespace tandem::store
