#pragma once
// Who may see what only operators see (docs/SECURITY.md, "Who can learn what"): member
// identities in GET /status, the dashboard and its data. Pure: no IO.
//
// With ADMIN_TOKEN set, the caller must present it (Authorization: Bearer). Without one, the
// caller must be on this host: its client address (after TRUSTED_PROXIES resolution) is
// exactly 127.0.0.1 or ::1, and the request names no forwarded client (no X-Forwarded-For,
// no Forwarded header): a reverse proxy on the same host connects from loopback on behalf
// of remote clients, and says so in those headers when it is set up to.
#include "net/http_response.hpp"

#include <string>
#include <string_view>

namespace tandem::net {

enum class AdminAccess {
  granted,
  token_required,  // ADMIN_TOKEN is set and was not presented: 401
  local_only,      // no ADMIN_TOKEN, and the caller is not on this host: 403
};

AdminAccess admin_access(const HttpRequest& request, std::string_view client_address,
                         const std::string& admin_token);

// 127.0.0.1 or ::1 (IPv4-mapped ::ffff:127.0.0.1 too). Other 127/8 addresses are not: a
// local tool connects from these two, and nothing needs more.
bool is_loopback_client(std::string_view client_address);

}  // namespace tandem::net
