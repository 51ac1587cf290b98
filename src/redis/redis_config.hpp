#pragma once
// Where a Redis is and how this client treats it. parse_redis_url fills the endpoint part
// from REDIS_URL; the rest keeps its defaults unless the composition root sets it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::redis {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

struct SentinelConfig {
  std::vector<Endpoint> sentinels;  // empty: Sentinel mode is off
  std::string master_name;
  std::string password;  // the sentinels' own requirepass; empty = no AUTH
  std::chrono::milliseconds timeout{2'000};  // one exchange with one sentinel
  bool enabled() const noexcept { return !sentinels.empty(); }
};

// host and a decimal port 1..65535, or nullopt.
std::optional<Endpoint> make_endpoint(std::string_view host, std::string_view port);
// "host:port,host:port" (IPv6 in brackets). nullopt and a reason when invalid.
std::optional<std::vector<Endpoint>> parse_endpoints(std::string_view list,
                                                     std::string* error = nullptr);


struct RedisConfig {
  // Endpoint (from the URL).
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user; empty = AUTH with the password only
  std::string password;  // empty = no AUTH
  int db = 0;            // SELECTed after connecting when not 0 (command connections)
  // Sentinel mode when enabled: host/port above are not used; the master is asked of the
  // sentinels before each connection attempt and must answer ROLE as a master.
  SentinelConfig sentinel;

  // Behaviour.
  std::string name = "command";                      // label of this connection's metrics and logs
  std::chrono::milliseconds connect_timeout{2'000};  // TCP connect + AUTH/SELECT
  std::chrono::milliseconds backoff_initial{100};    // first reconnect delay (before jitter)
  std::chrono::milliseconds backoff_max{5'000};      // cap of the doubling delay
  std::size_t max_pending = 10'000;                  // commands awaiting a reply
  // A reply that takes longer (Redis stalled, or the network silently gone) ends the
  // connection: commands in flight fail with CONNECTION_LOST and it reconnects. hiredis
  // itself has no per-command timeout.
  std::chrono::milliseconds command_timeout{5'000};
};

// redis://[[username]:password@]host[:port][/db]. The host may be a name, an IPv4 address
// or a bracketed IPv6 address; the port defaults to 6379 and the db to 0; the password and
// username are percent-decoded. Returns nullopt (and a reason in *error) when invalid.
std::optional<RedisConfig> parse_redis_url(std::string_view url, std::string* error = nullptr,
                                           RedisConfig base = {});

}  // namespace tandem::redis
