#pragma once
// Wrong-PIN limits: per client address and per room, a fixed window of failures; reaching
// the limit locks that address (or room) for the lockout period: JOINs into PIN rooms get
// ERROR PIN_LOCKED without the PIN being checked. Per-address limits stop one client
// guessing; per-room limits stop many addresses guessing one room's PIN together (a 4-digit
// PIN has only 10,000 values). Memory is bounded: entries expire, and the tables are capped.
#include "protocol/event.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>

namespace tandem::cluster {

struct PinLockoutOptions {
  std::size_t max_failures_per_address = 5;
  std::size_t max_failures_per_room = 20;
  protocol::Millis window = 5 * 60 * 1000;   // failures counted over this period
  protocol::Millis lockout = 5 * 60 * 1000;  // how long a lock lasts
  std::size_t max_entries = 100'000;         // per table
};

class PinLockout {
 public:
  explicit PinLockout(PinLockoutOptions options) : options_(options) {}

  // Milliseconds until the address or the room may try again; 0 = not locked.
  protocol::Millis locked_for(const std::string& address, const std::string& room_id,
                              protocol::Millis now) const;
  // Counts a wrong or missing PIN. Returns true when this failure locked the address or room.
  bool failed(const std::string& address, const std::string& room_id, protocol::Millis now);

  std::size_t size() const noexcept { return by_address_.size() + by_room_.size(); }

 private:
  struct Entry {
    std::size_t failures = 0;
    protocol::Millis window_start = 0;
    protocol::Millis locked_until = 0;
  };
  using Table = std::unordered_map<std::string, Entry>;

  bool count(Table& table, const std::string& key, std::size_t limit, protocol::Millis now);
  void prune(Table& table, protocol::Millis now);
  protocol::Millis remaining(const Table& table, const std::string& key,
                             protocol::Millis now) const;

  PinLockoutOptions options_;
  Table by_address_;
  Table by_room_;
};

}  // namespace tandem::cluster
