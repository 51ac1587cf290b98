#include "store/audit_quota.hpp"

namespace tandem::store {

std::int64_t audit_row_bytes(std::string_view room_id, std::string_view event_type,
                             std::string_view user_id, std::size_t data_bytes) noexcept {
  return static_cast<std::int64_t>(room_id.size() + event_type.size() + user_id.size() +
                                   data_bytes) +
         kAuditRowOverhead;
}

std::optional<std::int64_t> cut_id(const std::vector<SizedRow>& rows, std::int64_t excess) noexcept {
  std::optional<std::int64_t> cut;
  for (std::size_t i = 0; i < rows.size() && excess > 0; ++i) {
    cut = rows[i].id;
    excess -= rows[i].bytes;
  }
  return cut;
}

void AuditTally::add(const std::string& room_id, std::int64_t bytes) {
  AuditUsage& room = by_room_[room_id];
  room.room_id = room_id;
  room.bytes += bytes;
  ++room.rows;
  total_.bytes += bytes;
  ++total_.rows;
}

}  // namespace tandem::store
