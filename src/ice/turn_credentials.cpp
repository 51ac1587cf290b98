#include "ice/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

namespace tandem::ice {

TurnCredentials::TurnCredentials(std::string secret, std::chrono::seconds ttl)
    : secret_(std::move(secret)), ttl_(ttl) {
  if (secret_.size() < kMinSecretBytes) {
    throw std::invalid_argument("TURN secret shorter than 16 bytes");
  }
  if (ttl_.count() <= 0) throw std::invalid_argument("TURN credential TTL not positive");
}

TurnCredential TurnCredentials::make(std::string_view user_id, std::int64_t now_ms) const {
  TurnCredential out;
  out.expires_at_s = now_ms / 1000 + ttl_.count();
  out.username = std::to_string(out.expires_at_s) + ":" + std::string(user_id);

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(out.username.data()), out.username.size(),
           mac.data(), &mac_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA1 failed");
  }
  // EVP_EncodeBlock writes 4 characters per 3 bytes (padded) and a terminating NUL.
  std::array<unsigned char, (EVP_MAX_MD_SIZE + 2) / 3 * 4 + 1> b64{};
  const int n = EVP_EncodeBlock(b64.data(), mac.data(), static_cast<int>(mac_len));
  out.credential.assign(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n));
  return out;
}

}  // namespace tandem::ice
