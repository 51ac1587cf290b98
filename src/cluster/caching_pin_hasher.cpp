#include "cluster/caching_pin_hasher.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace tandem::cluster {

CachingPinHasher::CachingPinHasher(const room::PinHasher& slow, std::size_t max_entries)
    : slow_(slow), max_entries_(max_entries) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
}

CachingPinHasher::Mac CachingPinHasher::mac(std::string_view pin) const {
  Mac out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(pin.data()), pin.size(), out.data(),
           &length) == nullptr ||
      length != out.size()) {
    throw std::runtime_error("HMAC failed");
  }
  return out;
}

void CachingPinHasher::remember(const std::string& encoded, std::string_view pin) const {
  if (verifiers_.size() >= max_entries_) verifiers_.clear();
  verifiers_[encoded] = mac(pin);
}

std::string CachingPinHasher::hash(std::string_view pin) const {
  std::string encoded = slow_.hash(pin);
  remember(encoded, pin);
  return encoded;
}

bool CachingPinHasher::verify(std::string_view pin, std::string_view encoded) const {
  const std::string key(encoded);
  if (auto it = verifiers_.find(key); it != verifiers_.end()) {
    const Mac candidate = mac(pin);
    return CRYPTO_memcmp(candidate.data(), it->second.data(), candidate.size()) == 0;
  }
  if (!slow_.verify(pin, encoded)) return false;
  remember(key, pin);
  return true;
}

}  // namespace tandem::cluster
