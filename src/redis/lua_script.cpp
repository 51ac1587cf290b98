#include "redis/lua_script.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace tandem::redis {

LuaScript::LuaScript(std::string source)
    : source_(std::make_shared<const std::string>(std::move(source))) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(source_->data(), source_->size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA1 of a Lua script failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  sha1_.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    sha1_ += kHex[digest[i] >> 4];
    sha1_ += kHex[digest[i] & 0x0f];
  }
}

}  // namespace tandem::redis
