#pragma once
// Short ids for share links (standalone mode; cluster mode keeps the same policy in Redis,
// redis_short_ids.hpp): 7 chars of [a-z0-9] from a cryptographic random source, unique
// among live ids, the same for a room while it lives (sliding TTL).
//
// Bounds (docs/SECURITY.md, "Tables and disks"). The extension asks for a short id before
// its JOIN creates the room, so ids are issued for rooms that do not exist yet, but such
// an id is "evictable": it lives `pending_ttl` (minutes) unless its room is created, which
// gives it the full `ttl`; an id whose room ends becomes evictable again (keeping its
// expiry). At most `max_evictable` evictable ids are held: past that, the one that expires
// first is evicted. Ids of existing rooms are always served and never evicted; there are
// at most as many as there are rooms. (The per-address rate of new ids is the caller's:
// AddressRate.) Pure: time is an argument, nothing is journaled here.
#include "protocol/event.hpp"

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tandem::cluster {

struct ShortIdOptions {
  protocol::Millis ttl = 4 * 3600 * 1000;       // an id of an existing room
  protocol::Millis pending_ttl = 10 * 60 * 1000;  // an id issued while its room is absent
  std::size_t max_evictable = 100'000;
};

// A short id and when it expires: what the journal records (expires_at <= now: evicted).
struct ShortIdLease {
  std::string short_id;
  std::string room_id;
  protocol::Millis expires_at = 0;

  bool operator==(const ShortIdLease&) const = default;
};

class ShortIds {
 public:
  explicit ShortIds(ShortIdOptions options) : options_(options) {
    if (options_.max_evictable == 0) options_.max_evictable = 1;
  }

  struct Issued {
    std::optional<ShortIdLease> lease;  // nullopt: no free id found (practically never)
    bool created = false;               // a new id (false: the room's live one, refreshed)
    std::vector<ShortIdLease> evicted;  // made room for it (expires_at = now)
  };

  // The room's live short id or a new one. `room_exists`: the room has members now (full
  // ttl, never evicted); otherwise a pending id, or the live one extended to at least
  // now + pending_ttl.
  Issued issue(const std::string& room_id, bool room_exists, protocol::Millis now);
  // True when the room has a live id (issuing would not make a new one).
  bool has_live(const std::string& room_id, protocol::Millis now) const;
  // The room was created: its pending id (if any) gets the full ttl and stays. Returns the
  // new lease to journal.
  std::optional<ShortIdLease> room_created(const std::string& room_id, protocol::Millis now);
  // The room ended: its id becomes evictable (its expiry unchanged). Returns the ids evicted
  // to stay within max_evictable.
  std::vector<ShortIdLease> room_ended(const std::string& room_id, protocol::Millis now);
  // An id from the durable record (start-up); expired or malformed ones are ignored.
  void restore(const ShortIdLease& lease, bool room_exists, protocol::Millis now);
  std::optional<std::string> resolve(const std::string& short_id, protocol::Millis now) const;

  std::size_t size() const noexcept { return by_short_.size(); }
  std::size_t evictable() const noexcept { return evictable_.size(); }

  static constexpr std::size_t kLength = 7;
  static std::string random_id();
  static bool is_well_formed(std::string_view text) noexcept;

 private:
  struct Entry {
    std::string room_id;
    protocol::Millis expires_at = 0;
    bool evictable = false;
  };
  using Key = std::pair<protocol::Millis, std::string>;  // (expires_at, short id)

  void erase(const std::string& short_id);
  void set_expiry(const std::string& short_id, Entry& entry, protocol::Millis expires_at,
                  bool evictable);
  // Drops expired evictable ids, then evicts the soonest-expiring ones until at most
  // `keep` remain.
  void trim(std::size_t keep, protocol::Millis now, std::vector<ShortIdLease>* evicted);

  ShortIdOptions options_;
  std::unordered_map<std::string, Entry> by_short_;
  std::unordered_map<std::string, std::string> by_room_;
  std::set<Key> evictable_;
};

}  // namespace tandem::cluster
