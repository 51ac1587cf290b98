#pragma once
// A Lua script and its SHA1, computed once, for RedisConnection::eval_sha.
#include <memory>
#include <string>

namespace tandem::redis {

class LuaScript {
 public:
  explicit LuaScript(std::string source);

  const std::string& source() const noexcept { return *source_; }
  const std::string& sha1() const noexcept { return sha1_; }  // lowercase hex, as Redis
  // The source shared, so that a pending fallback to EVAL does not copy it.
  const std::shared_ptr<const std::string>& shared_source() const noexcept { return source_; }

 private:
  std::shared_ptr<const std::string> source_;
  std::string sha1_;
};

}  // namespace tandem::redis
