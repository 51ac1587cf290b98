#include "cluster/pin_lockout.hpp"

#include <algorithm>

namespace tandem::cluster {

protocol::Millis PinLockout::remaining(const Table& table, const std::string& key,
                                       protocol::Millis now) const {
  auto it = table.find(key);
  if (it == table.end() || it->second.locked_until <= now) return 0;
  return it->second.locked_until - now;
}

protocol::Millis PinLockout::locked_for(const std::string& address, const std::string& room_id,
                                        protocol::Millis now) const {
  return std::max(remaining(by_address_, address, now), remaining(by_room_, room_id, now));
}

void PinLockout::prune(Table& table, protocol::Millis now) {
  for (auto it = table.begin(); it != table.end();) {
    const bool idle = it->second.locked_until <= now && it->second.window_start + options_.window <= now;
    it = idle ? table.erase(it) : std::next(it);
  }
}

bool PinLockout::count(Table& table, const std::string& key, std::size_t limit,
                       protocol::Millis now) {
  if (table.size() >= options_.max_entries && table.find(key) == table.end()) {
    prune(table, now);
    // Still full of live entries: under a spray of addresses or rooms the room limit
    // (or the address limit) still applies; do not grow past the cap.
    if (table.size() >= options_.max_entries) return false;
  }
  Entry& entry = table[key];
  if (entry.window_start + options_.window <= now) {
    entry.failures = 0;
    entry.window_start = now;
  }
  ++entry.failures;
  if (entry.failures >= limit && entry.locked_until <= now) {
    entry.locked_until = now + options_.lockout;
    entry.failures = 0;
    entry.window_start = now;
    return true;
  }
  return false;
}

bool PinLockout::failed(const std::string& address, const std::string& room_id,
                        protocol::Millis now) {
  const bool address_locked = count(by_address_, address, options_.max_failures_per_address, now);
  const bool room_locked = count(by_room_, room_id, options_.max_failures_per_room, now);
  return address_locked || room_locked;
}

}  // namespace tandem::cluster
