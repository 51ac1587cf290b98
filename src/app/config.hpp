#pragma once
// Configuration: parsed and validated once into a typed struct (STYLE.md 10). Sources, in
// increasing precedence: built-in defaults, environment variables, --flags. A flag's name
// is its variable's, lower-cased with dashes: RECONNECT_GRACE_MS -> --reconnect-grace-ms.
#include "cluster/pin_lockout.hpp"
#include "ice/ice_config.hpp"
#include "net/types.hpp"
#include "obs/logger.hpp"
#include "redis/redis_config.hpp"
#include "room/room_machine.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tandem::app {

struct Config {
  net::NetConfig net;
  room::RoomConfig room;
  obs::Level log_level = obs::Level::info;
  std::string data_dir = "./data";
  unsigned pin_hash_iterations = 4'096;
  protocol::Millis short_id_ttl = 4LL * 3600 * 1000;
  // Short ids of rooms that do not exist yet (docs/SECURITY.md, "Tables and disks").
  protocol::Millis short_id_pending_ttl = 10LL * 60 * 1000;
  std::size_t short_id_max_new_per_address = 60;  // per minute
  std::size_t short_id_max_pending = 100'000;
  protocol::Millis heartbeat_timeout = 60'000;
  protocol::Millis room_ttl = 4LL * 3600 * 1000;  // idle rooms archived after this
  int events_retention_days = 30;                 // 0 = keep the audit log forever
  cluster::PinLockoutOptions pin_lockout;  // PIN_MAX_FAILURES_*, PIN_*_MS
  std::int64_t events_max_bytes_per_room = 1LL << 20;  // 0 = no quota
  std::int64_t events_max_bytes = 1LL << 30;           // the whole audit log; 0 = no quota
  int archived_rooms_retention_days = 30;              // 0 = keep archived rooms forever
  bool ready_requires_store = true;  // /ready is 503 while the journal cannot write
  std::size_t journal_memory_max_entries = 100'000;
  // Cluster mode and PostgreSQL (DESIGN.md): accepted and validated here.
  std::string redis_url;
  // Sentinel mode (REDIS_SENTINELS): the master is found through these; redis_url then
  // carries only the password and db (from REDIS_PASSWORD / REDIS_DB).
  redis::SentinelConfig redis_sentinel;
  protocol::Millis node_dead_after = 15'000;
  protocol::Millis cluster_sweep = 1'000;
  std::string database_url;
  // STUN and TURN servers handed to members (ice/; docs/DEPLOYMENT.md, "TURN").
  ice::IceConfig ice;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionInfo {
  std::string env;
  std::string flag;
  std::string default_value;  // as text; "" = unset
  std::string help;
};

// Every option the server understands (for --help, --config-schema, and the deployment
// checks that keep manifests in step with the code).
std::vector<OptionInfo> config_options();

// `env` reads a variable (nullptr when unset). Throws ConfigError with one clear line.
Config load_config(const std::vector<std::string>& args,
                   const std::function<const char*(const char*)>& env);

std::string config_help();
std::string config_schema_json();

}  // namespace tandem::app
