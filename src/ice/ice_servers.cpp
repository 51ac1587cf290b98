#include "ice/ice_servers.hpp"

#include <boost/json/object.hpp>

namespace tandem::ice {

namespace {

boost::json::array texts(const std::vector<IceUrl>& urls) {
  boost::json::array out;
  for (const auto& url : urls) out.emplace_back(url.text());
  return out;
}

}  // namespace

IceServers::IceServers(const IceConfig& config)
    : stun_urls_(texts(config.stun_urls)), turn_urls_(texts(config.turn_urls)) {
  if (config.turn_enabled()) credentials_.emplace(config.turn_secret, config.turn_ttl);
}

boost::json::array IceServers::build(std::string_view user_id, std::int64_t now_ms) const {
  boost::json::array out;
  if (!stun_urls_.empty()) out.push_back(boost::json::object{{"urls", stun_urls_}});
  if (credentials_) {
    const TurnCredential c = credentials_->make(user_id, now_ms);
    out.push_back(boost::json::object{
        {"urls", turn_urls_}, {"username", c.username}, {"credential", c.credential}});
  }
  return out;
}

std::optional<std::int64_t> IceServers::expires_at_s(std::int64_t now_ms) const {
  if (!credentials_) return std::nullopt;
  return now_ms / 1000 + credentials_->ttl().count();
}

}  // namespace tandem::ice
