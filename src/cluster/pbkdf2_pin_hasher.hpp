#pragma once
// PINs stored only as a salted slow hash: PBKDF2-HMAC-SHA256 (OpenSSL), 16-byte random
// salt, compared in constant time. Encoded as "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
#include "room/pin_hasher.hpp"

namespace tandem::cluster {

class Pbkdf2PinHasher final : public room::PinHasher {
 public:
  explicit Pbkdf2PinHasher(unsigned iterations) : iterations_(iterations) {}
  std::string hash(std::string_view pin) const override;
  bool verify(std::string_view pin, std::string_view encoded) const override;

 private:
  unsigned iterations_;
};

}  // namespace tandem::cluster
