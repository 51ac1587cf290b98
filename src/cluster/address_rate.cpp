#include "cluster/address_rate.hpp"

#include <algorithm>

namespace tandem::cluster {

void AddressRate::prune(protocol::Millis now) {
  for (auto it = windows_.begin(); it != windows_.end();) {
    it = it->second.start + window_ <= now ? windows_.erase(it) : std::next(it);
  }
  pruned_at_ = now;
}

AddressRate::Decision AddressRate::take(const std::string& address, protocol::Millis now,
                                        std::string_view item) {
  auto it = windows_.find(address);
  if (it == windows_.end()) {
    // A full table is scanned at most once per window (not on every refused request).
    if (windows_.size() >= max_addresses_ && now - pruned_at_ >= window_) prune(now);
    if (windows_.size() >= max_addresses_) return Decision{false, window_};
    it = windows_.emplace(address, Window{now, 0, {}}).first;
  }
  Window& w = it->second;
  if (w.start + window_ <= now) w = Window{now, 0, {}};
  if (!item.empty() && std::find(w.items.begin(), w.items.end(), item) != w.items.end()) {
    return Decision{true, 0};
  }
  if (w.count >= limit_) return Decision{false, w.start + window_ - now};
  ++w.count;
  if (!item.empty()) w.items.emplace_back(item);
  return Decision{true, 0};
}

}  // namespace tandem::cluster
