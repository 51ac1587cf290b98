#include "cluster/pbkdf2_pin_hasher.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace tandem::cluster {

namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr unsigned kMaxIterations = 10'000'000;

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

bool from_hex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) return false;
  out.resize(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, value, 16);
    if (ec != std::errc{} || p != hex.data() + 2 * i + 2) return false;
    out[i] = static_cast<unsigned char>(value);
  }
  return true;
}

bool derive(std::string_view pin, const unsigned char* salt, std::size_t salt_len,
            unsigned iterations, unsigned char* out, std::size_t out_len) {
  return PKCS5_PBKDF2_HMAC(pin.data(), static_cast<int>(pin.size()), salt,
                           static_cast<int>(salt_len), static_cast<int>(iterations), EVP_sha256(),
                           static_cast<int>(out_len), out) == 1;
}

}  // namespace

std::string Pbkdf2PinHasher::hash(std::string_view pin) const {
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::array<unsigned char, kHashBytes> digest{};
  if (!derive(pin, salt.data(), salt.size(), iterations_, digest.data(), digest.size())) {
    throw std::runtime_error("PBKDF2 failed");
  }
  return std::string(kScheme) + '$' + std::to_string(iterations_) + '$' +
         to_hex(salt.data(), salt.size()) + '$' + to_hex(digest.data(), digest.size());
}

bool Pbkdf2PinHasher::verify(std::string_view pin, std::string_view encoded) const {
  // scheme$iterations$salt$hash
  std::array<std::string_view, 4> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t end = i + 1 < parts.size() ? encoded.find('$', start) : encoded.size();
    if (end == std::string_view::npos) return false;
    parts[i] = encoded.substr(start, end - start);
    start = end + 1;
  }
  if (parts[0] != kScheme) return false;
  unsigned iterations = 0;
  auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc{} || p != parts[1].data() + parts[1].size() || iterations == 0 ||
      iterations > kMaxIterations) {
    return false;
  }
  std::vector<unsigned char> salt;
  std::vector<unsigned char> expected;
  if (!from_hex(parts[2], salt) || !from_hex(parts[3], expected) || expected.empty()) return false;
  std::vector<unsigned char> actual(expected.size());
  if (!derive(pin, salt.data(), salt.size(), iterations, actual.data(), actual.size())) {
    return false;
  }
  return CRYPTO_memcmp(actual.data(), expected.data(), expected.size()) == 0;
}

}  // namespace tandem::cluster
