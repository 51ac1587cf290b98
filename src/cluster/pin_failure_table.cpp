#include "cluster/pin_failure_table.hpp"

#include <iterator>

namespace tandem::cluster {

using protocol::Millis;

Millis PinFailureTable::locked_for(const std::string& key, Millis now) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.locked_until <= now) return 0;
  return it->second.locked_until - now;
}

std::size_t PinFailureTable::failures(const std::string& key, Millis now) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.counted_until <= now) return 0;
  return it->second.failures;
}

void PinFailureTable::prune(Millis now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool idle = it->second.locked_until <= now && it->second.counted_until <= now;
    it = idle ? entries_.erase(it) : std::next(it);
  }
}

bool PinFailureTable::fail(const std::string& key, std::size_t limit, bool sliding, Millis now) {
  if (entries_.size() >= max_entries_ && entries_.find(key) == entries_.end()) {
    prune(now);
    if (entries_.size() >= max_entries_) return false;
  }
  Entry& entry = entries_[key];
  if (entry.counted_until <= now) entry.failures = 0;
  ++entry.failures;
  if (entry.failures == 1 || sliding) entry.counted_until = now + window_;
  if (limit == 0 || entry.failures < limit) return false;
  // As the Redis script: the lock is (re)set and the count starts again.
  entry.locked_until = now + lockout_;
  entry.failures = 0;
  entry.counted_until = 0;
  return true;
}

}  // namespace tandem::cluster
