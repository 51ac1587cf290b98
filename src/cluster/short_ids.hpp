#pragma once
// Short ids for share links: 7 chars of [a-z0-9] from a cryptographic random source,
// unique among live ids, the same for a room while it lives (sliding TTL).
#include "protocol/event.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

namespace tandem::cluster {

class ShortIds {
 public:
  ShortIds(protocol::Millis ttl, std::size_t max_entries) : ttl_(ttl), max_entries_(max_entries) {}

  // The room's live short id (its TTL refreshed), or a new one; nullopt when the table is
  // full of live entries.
  std::optional<std::string> issue(const std::string& room_id, protocol::Millis now);
  // A live id from the durable record (start-up); expired ones are ignored.
  void restore(const std::string& short_id, const std::string& room_id,
               protocol::Millis expires_at, protocol::Millis now);
  std::optional<std::string> resolve(const std::string& short_id, protocol::Millis now) const;
  // Drops expired entries; returns how many.
  std::size_t purge(protocol::Millis now);
  std::size_t size() const noexcept { return by_short_.size(); }

  static constexpr std::size_t kLength = 7;
  static std::string random_id();
  static bool is_well_formed(std::string_view text) noexcept;

 private:
  struct Entry {
    std::string room_id;
    protocol::Millis expires_at = 0;
  };
  protocol::Millis ttl_;
  std::size_t max_entries_;
  std::unordered_map<std::string, Entry> by_short_;
  std::unordered_map<std::string, std::string> by_room_;
};

}  // namespace tandem::cluster
