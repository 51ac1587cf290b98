#pragma once
// Time-limited TURN credentials in the REST form coturn checks with `use-auth-secret`
// (draft-uberti-behave-turn-rest-00; coturn's `static-auth-secret`):
//   username   = "<expiry, Unix seconds>:<userId>"
//   credential = base64(HMAC-SHA1(secret, username))
// The TURN server recomputes the credential from the username and the shared secret, so it
// needs no call to us; it refuses the username once the expiry has passed. Binding the
// userId makes a leaked credential name its member (and coturn logs the username).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::ice {

struct TurnCredential {
  std::string username;
  std::string credential;
  std::int64_t expires_at_s = 0;  // Unix seconds
};

class TurnCredentials {
 public:
  static constexpr std::size_t kMinSecretBytes = 16;

  // `secret` at least kMinSecretBytes (the config checks it; here it throws
  // std::invalid_argument); `ttl` positive.
  TurnCredentials(std::string secret, std::chrono::seconds ttl);

  // A credential for `user_id` valid until now + ttl. `now_ms`: wall clock, ms since the
  // Unix epoch (the protocol's clock).
  TurnCredential make(std::string_view user_id, std::int64_t now_ms) const;

  std::chrono::seconds ttl() const { return ttl_; }

 private:
  std::string secret_;  // never printed, logged, or sent anywhere
  std::chrono::seconds ttl_;
};

}  // namespace tandem::ice
