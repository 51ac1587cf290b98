#include "cluster/short_ids.hpp"

#include <openssl/rand.h>

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

std::optional<std::string> ShortIds::issue(const std::string& room_id, protocol::Millis now) {
  if (auto it = by_room_.find(room_id); it != by_room_.end()) {
    auto& entry = by_short_.at(it->second);
    if (entry.expires_at > now) {
      entry.expires_at = now + ttl_;
      return it->second;
    }
    by_short_.erase(it->second);
    by_room_.erase(it);
  }
  if (by_short_.size() >= max_entries_ && purge(now) == 0) return std::nullopt;
  // 36^7 ~ 7.8e10 ids: a collision with a live one is rare; a few tries are plenty.
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string id = random_id();
    auto [it, inserted] = by_short_.try_emplace(id, Entry{room_id, now + ttl_});
    if (!inserted) {
      if (it->second.expires_at > now) continue;
      by_room_.erase(it->second.room_id);
      it->second = Entry{room_id, now + ttl_};
    }
    by_room_[room_id] = id;
    return id;
  }
  return std::nullopt;
}

void ShortIds::restore(const std::string& short_id, const std::string& room_id,
                       protocol::Millis expires_at, protocol::Millis now) {
  if (expires_at <= now || !is_well_formed(short_id) || by_short_.size() >= max_entries_) return;
  if (auto old = by_room_.find(room_id); old != by_room_.end()) by_short_.erase(old->second);
  by_short_[short_id] = Entry{room_id, expires_at};
  by_room_[room_id] = short_id;
}

std::optional<std::string> ShortIds::resolve(const std::string& short_id,
                                             protocol::Millis now) const {
  auto it = by_short_.find(short_id);
  if (it == by_short_.end() || it->second.expires_at <= now) return std::nullopt;
  return it->second.room_id;
}

std::size_t ShortIds::purge(protocol::Millis now) {
  std::size_t removed = 0;
  for (auto it = by_short_.begin(); it != by_short_.end();) {
    if (it->second.expires_at <= now) {
      by_room_.erase(it->second.room_id);
      it = by_short_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace tandem::cluster
