#pragma once
// One place names the executor and socket types, so moving to a loop per core later is a
// local change (STYLE.md 7).
#include "net/address_set.hpp"
#include "net/origin_policy.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tandem::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Executor = asio::any_io_executor;
using Stream = beast::tcp_stream;

struct NetConfig {
  std::string host = "0.0.0.0";
  std::uint16_t port = 4001;  // 0 = any free port (logged as "listening")
  std::string node_id;
  std::string public_url;     // base of short URLs
  std::size_t max_connections = 100'000;     // WebSocket sessions
  std::size_t max_http_connections = 1'024;  // plain HTTP connections (probes, /status)
  // Plain HTTP connections of one peer address waiting for a request (HttpAdmission).
  std::size_t max_pending_per_ip = 64;
  // WebSocket sessions per client address (after TRUSTED_PROXIES resolution).
  std::size_t max_connections_per_ip = 256;
  // Peers whose X-Forwarded-For is believed (empty: nobody's).
  AddressSet trusted_proxies;
  // ALLOWED_ORIGINS: web origins that may open a WebSocket (no list: any, counted).
  OriginPolicy allowed_origins;
  // Rooms one client address may create per minute (a JOIN of an absent room).
  std::size_t room_max_new_per_address = 30;
  // A plain HTTP connection must deliver a complete request this long after it starts
  // waiting for one (accepted, or kept alive after a response).
  std::chrono::milliseconds request_timeout{5'000};
  // WebSocket opening and closing handshakes; writing an HTTP response.
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{120'000};  // 2 x heartbeat timeout
  double rate_per_second = 100;  // token bucket per connection
  double rate_burst = 200;
  // Pass-through byte budget per connection (OFFER/ANSWER/ICE_CANDIDATE and fallback
  // broadcasts): bytes per second, and the burst (at least one 64 KiB message).
  double relay_bytes_per_second = 64 * 1024;
  double relay_bytes_burst = 256 * 1024;
  std::size_t send_queue_max_bytes = 1 << 20;
  std::size_t send_queue_max_messages = 1'024;
  std::chrono::milliseconds drain_timeout{10'000};
  bool status_list_rooms = true;  // GET /status without ?roomId lists every room
  // GET /status shows member identities, positions and URLs to every caller (the old
  // server's behaviour); otherwise only to the admin (admin_access.hpp).
  bool status_public = false;
  // The full listing is rebuilt at most this often (every client polls /status every 2 s);
  // 0 = rebuilt on every request. ?roomId= answers are never cached.
  std::chrono::milliseconds status_cache{1'000};
  // Audit log API (off when empty); dashboard and full /status (loopback only when empty).
  std::string admin_token;
};

}  // namespace tandem::net
