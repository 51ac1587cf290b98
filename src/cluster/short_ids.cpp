#include "cluster/short_ids.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace tandem::cluster {

namespace {
constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
}

std::string ShortIds::random_id() {
  std::string id;
  id.reserve(kLength);
  std::array<unsigned char, 32> bytes{};
  while (id.size() < kLength) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      throw std::runtime_error("RAND_bytes failed");
    }
    for (unsigned char b : bytes) {
      // Rejection sampling: 252 = 7 * 36, so accepted bytes map uniformly.
      if (b >= 252) continue;
      id.push_back(kAlphabet[b % kAlphabet.size()]);
      if (id.size() == kLength) break;
    }
  }
  return id;
}

bool ShortIds::is_well_formed(std::string_view text) noexcept {
  if (text.size() != kLength) return false;
  for (char c : text) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

void ShortIds::erase(const std::string& short_id) {
  auto it = by_short_.find(short_id);
  if (it == by_short_.end()) return;
  if (it->second.evictable) evictable_.erase(Key{it->second.expires_at, short_id});
  if (auto room = by_room_.find(it->second.room_id);
      room != by_room_.end() && room->second == short_id) {
    by_room_.erase(room);
  }
  by_short_.erase(it);
}

void ShortIds::set_expiry(const std::string& short_id, Entry& entry, protocol::Millis expires_at,
                          bool evictable) {
  if (entry.evictable) evictable_.erase(Key{entry.expires_at, short_id});
  entry.expires_at = expires_at;
  entry.evictable = evictable;
  if (evictable) evictable_.insert(Key{expires_at, short_id});
}

void ShortIds::trim(std::size_t keep, protocol::Millis now, std::vector<ShortIdLease>* evicted) {
  while (!evictable_.empty()) {
    const auto [expires_at, short_id] = *evictable_.begin();
    const bool expired = expires_at <= now;
    if (!expired && evictable_.size() <= keep) break;
    if (!expired && evicted != nullptr) {
      evicted->push_back(ShortIdLease{short_id, by_short_.at(short_id).room_id, now});
    }
    erase(short_id);
  }
}

bool ShortIds::has_live(const std::string& room_id, protocol::Millis now) const {
  auto it = by_room_.find(room_id);
  return it != by_room_.end() && by_short_.at(it->second).expires_at > now;
}

ShortIds::Issued ShortIds::issue(const std::string& room_id, bool room_exists,
                                 protocol::Millis now) {
  Issued out;
  if (auto it = by_room_.find(room_id); it != by_room_.end()) {
    const std::string short_id = it->second;
    Entry& entry = by_short_.at(short_id);
    if (entry.expires_at > now) {
      // Re-requested: an existing room's id lives the full ttl again; an absent room's at
      // least pending_ttl more (an id its room had earned is not shortened).
      const protocol::Millis expires_at =
          room_exists ? now + options_.ttl : std::max(entry.expires_at, now + options_.pending_ttl);
      set_expiry(short_id, entry, expires_at, !room_exists);
      trim(options_.max_evictable, now, &out.evicted);
      out.lease = ShortIdLease{short_id, room_id, expires_at};
      return out;
    }
    erase(short_id);
  }
  if (!room_exists) trim(options_.max_evictable - 1, now, &out.evicted);  // room for it
  const protocol::Millis expires_at = now + (room_exists ? options_.ttl : options_.pending_ttl);
  // 36^7 ~ 7.8e10 ids: a collision with a live one is rare; a few tries are plenty.
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string id = random_id();
    if (auto taken = by_short_.find(id); taken != by_short_.end()) {
      if (taken->second.expires_at > now) continue;
      erase(id);
    }
    Entry& entry = by_short_[id];
    entry.room_id = room_id;
    set_expiry(id, entry, expires_at, !room_exists);
    by_room_[room_id] = id;
    out.lease = ShortIdLease{std::move(id), room_id, expires_at};
    out.created = true;
    return out;
  }
  return out;
}

std::optional<ShortIdLease> ShortIds::room_created(const std::string& room_id,
                                                   protocol::Millis now) {
  auto it = by_room_.find(room_id);
  if (it == by_room_.end()) return std::nullopt;
  const std::string short_id = it->second;
  Entry& entry = by_short_.at(short_id);
  if (entry.expires_at <= now) {
    erase(short_id);
    return std::nullopt;
  }
  set_expiry(short_id, entry, std::max(entry.expires_at, now + options_.ttl), false);
  return ShortIdLease{short_id, room_id, entry.expires_at};
}

std::vector<ShortIdLease> ShortIds::room_ended(const std::string& room_id, protocol::Millis now) {
  std::vector<ShortIdLease> evicted;
  auto it = by_room_.find(room_id);
  if (it == by_room_.end()) return evicted;
  const std::string short_id = it->second;
  Entry& entry = by_short_.at(short_id);
  if (entry.expires_at <= now) {
    erase(short_id);
    return evicted;
  }
  if (!entry.evictable) set_expiry(short_id, entry, entry.expires_at, true);
  trim(options_.max_evictable, now, &evicted);
  return evicted;
}

void ShortIds::restore(const ShortIdLease& lease, bool room_exists, protocol::Millis now) {
  if (lease.expires_at <= now || !is_well_formed(lease.short_id)) return;
  if (auto old = by_room_.find(lease.room_id); old != by_room_.end()) erase(old->second);
  erase(lease.short_id);
  Entry& entry = by_short_[lease.short_id];
  entry.room_id = lease.room_id;
  set_expiry(lease.short_id, entry, lease.expires_at, !room_exists);
  by_room_[lease.room_id] = lease.short_id;
  trim(options_.max_evictable, now, nullptr);
}

std::optional<std::string> ShortIds::resolve(const std::string& short_id,
                                             protocol::Millis now) const {
  auto it = by_short_.find(short_id);
  if (it == by_short_.end() || it->second.expires_at <= now) return std::nullopt;
  return it->second.room_id;
}

}  // namespace tandem::cluster
