#pragma once
// A PinHasher that does the slow hash at most once per stored hash and process: after the
// first successful check (or the creation) of a room's PIN it keeps, in memory only, an
// HMAC-SHA256 of that PIN under a random per-process key, and answers later checks of the
// same stored hash with one HMAC and a constant-time compare. Restart storms (every member
// re-joining a PIN room) and wrong-PIN floods then cost microseconds on the event loop
// instead of a slow hash each; the slow hash still protects what is stored on disk.
// Bounded: at most `max_entries` verifiers; when full it starts over.
#include "room/pin_hasher.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace tandem::cluster {

class CachingPinHasher final : public room::PinHasher {
 public:
  CachingPinHasher(const room::PinHasher& slow, std::size_t max_entries);
  std::string hash(std::string_view pin) const override;
  bool verify(std::string_view pin, std::string_view encoded) const override;

  std::size_t size() const noexcept { return verifiers_.size(); }

 private:
  using Mac = std::array<unsigned char, 32>;
  Mac mac(std::string_view pin) const;
  void remember(const std::string& encoded, std::string_view pin) const;

  const room::PinHasher& slow_;
  std::size_t max_entries_;
  std::array<unsigned char, 32> key_{};
  // The room machine holds a const PinHasher&; the cache is an implementation detail.
  mutable std::unordered_map<std::string, Mac> verifiers_;  // stored hash -> HMAC(pin)
};

}  // namespace tandem::cluster
