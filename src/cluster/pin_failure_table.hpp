#pragma once
// Standalone mode's store of PIN failure counters and locks (cluster mode keeps the same
// in Redis, kPinFailScript in redis_pin_counters.cpp, with the same semantics): per key, a count
// of failures within a window that starts at the first one (or, sliding, at the latest),
// and a lock set when the count reaches its limit (which restarts the count). Bounded:
// idle entries are pruned when the table is full, and a table full of live entries counts
// no new key until some expire (the keys it already holds keep counting).
#include "protocol/event.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>

namespace tandem::cluster {

class PinFailureTable {
 public:
  PinFailureTable(protocol::Millis window, protocol::Millis lockout, std::size_t max_entries)
      : window_(window), lockout_(lockout), max_entries_(max_entries) {}

  // Milliseconds until the key's lock ends; 0 = not locked.
  protocol::Millis locked_for(const std::string& key, protocol::Millis now) const;
  // Failures counted in the key's current window.
  std::size_t failures(const std::string& key, protocol::Millis now) const;
  // Counts one failure (limit 0: never locks). True when this failure locked the key.
  bool fail(const std::string& key, std::size_t limit, bool sliding, protocol::Millis now);

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::size_t failures = 0;
    protocol::Millis counted_until = 0;  // the count expires then
    protocol::Millis locked_until = 0;
  };
  void prune(protocol::Millis now);

  protocol::Millis window_;
  protocol::Millis lockout_;
  std::size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace tandem::cluster
