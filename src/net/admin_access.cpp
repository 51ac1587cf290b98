#include "net/admin_access.hpp"

#include "net/address_set.hpp"

namespace tandem::net {

namespace http = beast::http;

bool is_loopback_client(std::string_view client_address) {
  const auto address = parse_ip(client_address);
  if (!address) return false;
  if (address->is_v4()) return address->to_v4() == boost::asio::ip::address_v4::loopback();
  return address->to_v6() == boost::asio::ip::address_v6::loopback();
}

AdminAccess admin_access(const HttpRequest& request, std::string_view client_address,
                         const std::string& admin_token) {
  if (!admin_token.empty()) {
    return bearer_matches(request, admin_token) ? AdminAccess::granted
                                                : AdminAccess::token_required;
  }
  const bool forwarded = request.find("X-Forwarded-For") != request.end() ||
                         request.find(http::field::forwarded) != request.end();
  return !forwarded && is_loopback_client(client_address) ? AdminAccess::granted
                                                          : AdminAccess::local_only;
}

}  // namespace tandem::net
