#pragma once
// The `iceServers` list a member passes to RTCPeerConnection: one entry with the STUN URLs,
// then one with the TURN URLs and a fresh credential bound to that member's userId (W3C
// RTCIceServer: urls, username, credential). Old clients ignore it (PROTOCOL.md).
#include "ice/ice_config.hpp"
#include "ice/turn_credentials.hpp"

#include <boost/json/array.hpp>

#include <optional>
#include <string_view>

namespace tandem::ice {

class IceServers {
 public:
  // `config` as load_config returns it: a TURN URL implies a secret of 16 bytes or more.
  explicit IceServers(const IceConfig& config);

  // [] when neither STUN nor TURN is configured. `now_ms`: ms since the Unix epoch.
  boost::json::array build(std::string_view user_id, std::int64_t now_ms) const;

  bool turn_enabled() const { return credentials_.has_value(); }
  // When a credential made at `now_ms` expires (nullopt without TURN): the refresh point.
  std::optional<std::int64_t> expires_at_s(std::int64_t now_ms) const;

 private:
  boost::json::array stun_urls_;
  boost::json::array turn_urls_;
  std::optional<TurnCredentials> credentials_;
};

}  // namespace tandem::ice
