#pragma once
// The ICE servers members are given (docs/CONFIG.md: STUN_URLS, TURN_URLS, TURN_SECRET,
// TURN_SECRET_FILE, TURN_TTL_S), as the config parses them; IceServers serves them.
#include "ice/ice_url.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace tandem::ice {

struct IceConfig {
  std::vector<IceUrl> stun_urls;
  std::vector<IceUrl> turn_urls;
  std::string turn_secret;  // never printed: errors show its length only
  std::chrono::seconds turn_ttl{86'400};

  bool turn_enabled() const { return !turn_urls.empty(); }
};

}  // namespace tandem::ice
