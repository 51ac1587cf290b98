#include "app/config.hpp"

#include "app/ice_options.hpp"
#include "protocol/text.hpp"
#include "redis/redis_config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace tandem::app {

namespace {

// For building a URL from the old server's separate settings (a password may hold '@').
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

constexpr std::size_t kMinAdminTokenLength = 16;
// The extension's built-in STUN servers: a client that takes the server's list loses none.
constexpr const char* kDefaultStunUrls = "stun:stun.l.google.com:19302,stun:stun1.l.google.com:19302";

struct Option {
  OptionInfo info;
  std::function<void(Config&, const std::string&)> apply;  // throws ConfigError
};

[[noreturn]] void invalid(const std::string& name, const std::string& value,
                          const std::string& expected) {
  throw ConfigError("invalid " + name + "=\"" + value + "\": expected " + expected);
}

long long parse_int(const std::string& name, const std::string& value, long long min,
                    long long max) {
  long long out = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, out);
  if (value.empty() || ec != std::errc{} || p != end || out < min || out > max) {
    invalid(name, value, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return out;
}

double parse_double(const std::string& name, const std::string& value, double min, double max) {
  double out = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, out);
  if (value.empty() || ec != std::errc{} || p != end || !std::isfinite(out) || out < min ||
      out > max) {
    invalid(name, value, "a number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return out;
}

bool parse_bool(const std::string& name, const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  invalid(name, value, "true or false");
}

std::string default_node_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "node-1";
  std::string id(host);
  for (char& c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  }
  return id.substr(0, 64);
}

std::string flag_for(std::string_view env) {
  std::string flag = "--";
  for (char c : env) flag += c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return flag;
}

// Values of the old server's split variables, combined into URLs after parsing.
struct Legacy {
  std::string redis_host, redis_port = "6379", redis_password, redis_db = "0";
  std::string pg_host, pg_port = "5432", pg_db = "tandem", pg_user = "tandem", pg_password;
};

std::vector<Option> make_options(Legacy& legacy) {
  std::vector<Option> o;
  const auto add = [&o](std::string env, std::string def, std::string help,
                        std::function<void(Config&, const std::string&)> apply) {
    o.push_back(Option{OptionInfo{env, flag_for(env), std::move(def), std::move(help)},
                       std::move(apply)});
  };
  const auto millis = [](const std::string& name, long long min, long long max) {
    return [name, min, max](const std::string& v) {
      return static_cast<protocol::Millis>(parse_int(name, v, min, max));
    };
  };
  // A count of the network layer (connections, queue sizes) within [min, max].
  const auto add_net_count = [&add](std::string env, std::string def, std::string help,
                                    std::size_t net::NetConfig::*member, long long min,
                                    long long max) {
    add(env, std::move(def), std::move(help),
        [env, member, min, max](Config& c, const std::string& v) {
          c.net.*member = static_cast<std::size_t>(parse_int(env, v, min, max));
        });
  };

  add("PORT", "4001", "TCP port for HTTP and WebSocket (0 = any free port)",
      [](Config& c, const std::string& v) {
        c.net.port = static_cast<std::uint16_t>(parse_int("PORT", v, 0, 65535));
      });
  add("HOST", "0.0.0.0", "Address to listen on", [](Config& c, const std::string& v) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(v, ec);
    if (ec) invalid("HOST", v, "an IPv4 or IPv6 address");
    c.net.host = v;
  });
  add("NODE_ID", "", "This node's name in logs, /health and messages (default: the hostname)",
      [](Config& c, const std::string& v) {
        const bool ok = !v.empty() && v.size() <= 64 &&
                        std::all_of(v.begin(), v.end(), [](unsigned char ch) {
                          return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
                        });
        if (!ok) invalid("NODE_ID", v, "1-64 characters of [A-Za-z0-9_.-]");
        c.net.node_id = v;
      });
  add("LOG_LEVEL", "info", "debug, info, warn or error", [](Config& c, const std::string& v) {
    auto level = obs::parse_level(v);
    if (!level) invalid("LOG_LEVEL", v, "debug, info, warn or error");
    c.log_level = *level;
  });
  add("PUBLIC_URL", "", "Base URL of short links (default: http://localhost:PORT)",
      [](Config& c, const std::string& v) {
        if (!protocol::is_valid_url(v)) invalid("PUBLIC_URL", v, "an http:// or https:// URL");
        std::string url = v;
        while (!url.empty() && url.back() == '/') url.pop_back();
        c.net.public_url = url;
      });
  add("DATA_DIR", "./data",
      "Directory of the SQLite database (when DATABASE_URL is unset) and the journal's spill file",
      [](Config& c, const std::string& v) {
        if (v.empty()) invalid("DATA_DIR", v, "a directory path");
        c.data_dir = v;
      });
  add("RECONNECT_GRACE_MS", "10000",
      "How long a dropped member stays in its room awaiting reconnection (0 = leave at once)",
      [millis](Config& c, const std::string& v) {
        c.room.reconnect_grace = millis("RECONNECT_GRACE_MS", 0, 3'600'000)(v);
      });
  add("HEARTBEAT_TIMEOUT_MS", "60000",
      "Heartbeat timeout; a connection silent for twice this is closed and its member removed",
      [millis](Config& c, const std::string& v) {
        c.heartbeat_timeout = millis("HEARTBEAT_TIMEOUT_MS", 500, 3'600'000)(v);
        c.net.idle_timeout = std::chrono::milliseconds(2 * c.heartbeat_timeout);
      });
  add("GATE_TIMEOUT_MS", "7000", "Ready gate: longest wait for READYs after a SEEK",
      [millis](Config& c, const std::string& v) {
        c.room.gate_timeout = millis("GATE_TIMEOUT_MS", 100, 60'000)(v);
      });
  add_net_count("MAX_CONNECTIONS", "100000",
                "Most WebSocket connections this node accepts",
                &net::NetConfig::max_connections, 1, 10'000'000);
  add_net_count("MAX_HTTP_CONNECTIONS", "1024",
                "Most plain HTTP connections open at once",
                &net::NetConfig::max_http_connections, 1, 1'000'000);
  add_net_count("MAX_PENDING_PER_IP", "64",
                "Plain HTTP connections of one peer address waiting for a request; one more "
                "closes that address's oldest (trusted proxies exempt)",
                &net::NetConfig::max_pending_per_ip, 1, 1'000'000);
  add_net_count("MAX_CONNECTIONS_PER_IP", "256",
                "Most WebSocket connections from one client address (behind TRUSTED_PROXIES: "
                "the X-Forwarded-For address); past it upgrades get 429",
                &net::NetConfig::max_connections_per_ip, 1, 10'000'000);
  add("TRUSTED_PROXIES", "",
      "Comma-separated IPs and CIDR ranges (IPv4, IPv6) of reverse proxies whose "
      "X-Forwarded-For is believed; empty = nobody's",
      [](Config& c, const std::string& v) {
        std::string why;
        auto set = net::AddressSet::parse(v, &why);
        if (!set) {
          invalid("TRUSTED_PROXIES", v,
                  "comma-separated IP addresses or CIDR ranges (" + why + ")");
        }
        c.net.trusted_proxies = std::move(*set);
      });
  add("ALLOWED_ORIGINS", "",
      "Comma-separated web origins (https://tandem.watch, chrome-extension://<id>) whose pages "
      "may open a WebSocket, or * for any; others get 403. Unset: any, and unlisted origins "
      "are counted and logged. The server's own origin (PUBLIC_URL) and clients that send no "
      "Origin are always let in",
      [](Config& c, const std::string& v) {
        std::string why;
        auto policy = net::OriginPolicy::parse(v, &why);
        if (!policy) {
          invalid("ALLOWED_ORIGINS", v, "comma-separated scheme://host[:port] origins or * (" + why + ")");
        }
        c.net.allowed_origins = std::move(*policy);
      });
  add("HTTP_REQUEST_TIMEOUT_MS", "5000",
      "A plain HTTP connection is closed when no complete request arrives this long after it "
      "opened or after its last response",
      [millis](Config& c, const std::string& v) {
        c.net.request_timeout =
            std::chrono::milliseconds(millis("HTTP_REQUEST_TIMEOUT_MS", 100, 120'000)(v));
      });
  add("RATE_LIMIT_PER_SEC", "100", "Messages per second a connection may sustain",
      [](Config& c, const std::string& v) {
        c.net.rate_per_second = parse_double("RATE_LIMIT_PER_SEC", v, 0.1, 1e7);
      });
  add("RATE_LIMIT_BURST", "200", "Messages a connection may send at once above its rate",
      [](Config& c, const std::string& v) {
        c.net.rate_burst = parse_double("RATE_LIMIT_BURST", v, 1, 1e7);
      });
  add("RELAY_BYTES_PER_SEC", "65536",
      "Bytes per second a connection may pass through the server (OFFER, ANSWER, "
      "ICE_CANDIDATE and fallback broadcasts); past it they get ERROR RATE_LIMITED",
      [](Config& c, const std::string& v) {
        c.net.relay_bytes_per_second = parse_double("RELAY_BYTES_PER_SEC", v, 1024, 1e10);
      });
  add("RELAY_BYTES_BURST", "262144",
      "Pass-through bytes a connection may send at once above RELAY_BYTES_PER_SEC (at least "
      "one 64 KiB message)",
      [](Config& c, const std::string& v) {
        c.net.relay_bytes_burst = parse_double("RELAY_BYTES_BURST", v, 65'536, 1e10);
      });
  add_net_count("SEND_QUEUE_MAX_BYTES", "1048576",
                "Outbound bytes queued for one connection before it is closed as too slow (1008)",
                &net::NetConfig::send_queue_max_bytes, 131'072, 1LL << 30);
  add_net_count("SEND_QUEUE_MAX_MESSAGES", "1024",
                "Outbound messages queued for one connection before it is closed as too slow "
                "(1008)",
                &net::NetConfig::send_queue_max_messages, 16, 1'000'000);
  add("HANDSHAKE_TIMEOUT_MS", "10000",
      "Limit on the WebSocket opening and closing handshakes and on writing an HTTP response",
      [millis](Config& c, const std::string& v) {
        c.net.handshake_timeout =
            std::chrono::milliseconds(millis("HANDSHAKE_TIMEOUT_MS", 100, 120'000)(v));
      });
  add("DRAIN_TIMEOUT_MS", "10000",
      "On SIGTERM, how long to wait for clients to close; then up to 3 s more to flush the "
      "journal (at most 11000, so the process always exits within 15 s)",
      [millis](Config& c, const std::string& v) {
        c.net.drain_timeout = std::chrono::milliseconds(millis("DRAIN_TIMEOUT_MS", 0, 11'000)(v));
      });
  add("STATUS_LIST_ROOMS", "true",
      "Whether GET /status without ?roomId lists every room (it shows who watches what)",
      [](Config& c, const std::string& v) { c.net.status_list_rooms = parse_bool("STATUS_LIST_ROOMS", v); });
  add("STATUS_PUBLIC", "false",
      "Whether GET /status shows members' ids, names, positions and URLs to everyone (the old "
      "server's behaviour); otherwise only with ADMIN_TOKEN, or from this host when it is unset",
      [](Config& c, const std::string& v) { c.net.status_public = parse_bool("STATUS_PUBLIC", v); });
  add("STATUS_CACHE_MS", "1000",
      "GET /status without ?roomId is rebuilt at most this often (0 = on every request)",
      [millis](Config& c, const std::string& v) {
        c.net.status_cache = std::chrono::milliseconds(millis("STATUS_CACHE_MS", 0, 60'000)(v));
      });
  add("SHORT_ID_TTL_MS", "14400000", "Lifetime of a short id since it was last requested",
      [millis](Config& c, const std::string& v) {
        c.short_id_ttl = millis("SHORT_ID_TTL_MS", 1'000, 30LL * 24 * 3600 * 1000)(v);
      });
  add("SHORT_ID_PENDING_TTL_MS", "600000",
      "Lifetime of a short id issued for a room that does not exist yet (it gets "
      "SHORT_ID_TTL_MS once the room is created)",
      [millis](Config& c, const std::string& v) {
        c.short_id_pending_ttl = millis("SHORT_ID_PENDING_TTL_MS", 1'000, 24LL * 3600 * 1000)(v);
      });
  add("SHORT_ID_MAX_NEW_PER_ADDRESS", "60",
      "New short ids for rooms that do not exist yet, per client address and minute (429 past it)",
      [](Config& c, const std::string& v) {
        c.short_id_max_new_per_address =
            static_cast<std::size_t>(parse_int("SHORT_ID_MAX_NEW_PER_ADDRESS", v, 1, 1'000'000));
      });
  add("SHORT_ID_MAX_PENDING", "100000",
      "Most short ids of rooms that do not exist held at once; past it the one that expires "
      "first is evicted",
      [](Config& c, const std::string& v) {
        c.short_id_max_pending =
            static_cast<std::size_t>(parse_int("SHORT_ID_MAX_PENDING", v, 1, 100'000'000));
      });
  add_net_count("ROOM_MAX_NEW_PER_ADDRESS", "30",
                "Rooms one client address may create per minute (a JOIN of a room that does "
                "not exist; past it ERROR RATE_LIMITED); counted per node",
                &net::NetConfig::room_max_new_per_address, 1, 1'000'000);
  add("PIN_HASH_ITERATIONS", "4096",
      "PBKDF2-SHA256 iterations of stored PIN hashes (paid on the event loop once per PIN "
      "room and process; see docs/CONFIG.md)",
      [](Config& c, const std::string& v) {
        c.pin_hash_iterations =
            static_cast<unsigned>(parse_int("PIN_HASH_ITERATIONS", v, 1'000, 1'000'000));
      });
  add("ROOM_TTL_MS", "14400000", "Rooms idle longer than this are archived (0 = never)",
      [millis](Config& c, const std::string& v) {
        c.room_ttl = millis("ROOM_TTL_MS", 0, 365LL * 24 * 3600 * 1000)(v);
      });
  add("EVENTS_RETENTION_DAYS", "30", "Audit log rows older than this are deleted (0 = keep)",
      [](Config& c, const std::string& v) {
        c.events_retention_days = static_cast<int>(parse_int("EVENTS_RETENTION_DAYS", v, 0, 36500));
      });
  add("EVENTS_MAX_BYTES_PER_ROOM", "1048576",
      "Audit log quota of one room, in bytes; past it the room's oldest rows are deleted (0 = "
      "no quota)",
      [](Config& c, const std::string& v) {
        c.events_max_bytes_per_room = parse_int("EVENTS_MAX_BYTES_PER_ROOM", v, 0, 1LL << 50);
        if (c.events_max_bytes_per_room > 0 && c.events_max_bytes_per_room < 4096) {
          invalid("EVENTS_MAX_BYTES_PER_ROOM", v, "0 or at least 4096");
        }
      });
  add("EVENTS_MAX_BYTES", "1073741824",
      "Audit log quota of the whole database, in bytes; past it the oldest rows are deleted (0 = "
      "no quota)",
      [](Config& c, const std::string& v) {
        c.events_max_bytes = parse_int("EVENTS_MAX_BYTES", v, 0, 1LL << 50);
        if (c.events_max_bytes > 0 && c.events_max_bytes < 65536) {
          invalid("EVENTS_MAX_BYTES", v, "0 or at least 65536");
        }
      });
  add("ARCHIVED_ROOMS_RETENTION_DAYS", "30",
      "Archived rooms are deleted, with their audit rows, this long after they were archived "
      "(0 = keep)",
      [](Config& c, const std::string& v) {
        c.archived_rooms_retention_days =
            static_cast<int>(parse_int("ARCHIVED_ROOMS_RETENTION_DAYS", v, 0, 36500));
      });
  add("READY_REQUIRES_STORE", "true",
      "Whether GET /ready is 503 while the durable store cannot write (see docs/OPERATIONS.md)",
      [](Config& c, const std::string& v) {
        c.ready_requires_store = parse_bool("READY_REQUIRES_STORE", v);
      });
  // PIN guessing (cluster/pin_lockout.hpp; docs/SECURITY.md works out what they allow).
  const auto failures = [](const char* name, std::size_t cluster::PinLockoutOptions::*field) {
    return [name, field](Config& c, const std::string& v) {
      c.pin_lockout.*field = static_cast<std::size_t>(parse_int(name, v, 1, 1'000'000));
    };
  };
  add("PIN_MAX_FAILURES_PER_ADDRESS_ROOM", "5",
      "Wrong PINs from one client address for one room within PIN_FAILURE_WINDOW_MS before "
      "that address is locked out of that room",
      failures("PIN_MAX_FAILURES_PER_ADDRESS_ROOM",
               &cluster::PinLockoutOptions::max_failures_per_address_room));
  add("PIN_MAX_FAILURES_PER_ADDRESS", "20",
      "Wrong PINs from one client address, all rooms together, within PIN_FAILURE_WINDOW_MS "
      "before that address is locked out of every PIN room (members keep their rooms)",
      failures("PIN_MAX_FAILURES_PER_ADDRESS",
               &cluster::PinLockoutOptions::max_failures_per_address));
  add("PIN_MAX_FAILURES_PER_ROOM", "20",
      "Wrong PINs for one room from anywhere after which it is under attack (until a window "
      "passes without one): each PIN check from a non-member waits PIN_ROOM_DELAY_MS, and one "
      "wrong PIN locks that address out of the room",
      failures("PIN_MAX_FAILURES_PER_ROOM", &cluster::PinLockoutOptions::max_failures_per_room));
  add("PIN_FAILURE_WINDOW_MS", "300000", "Period over which wrong PINs are counted",
      [millis](Config& c, const std::string& v) {
        c.pin_lockout.window = millis("PIN_FAILURE_WINDOW_MS", 1'000, 24LL * 3600 * 1000)(v);
      });
  add("PIN_LOCKOUT_MS", "300000", "How long a PIN lockout lasts (ERROR PIN_LOCKED meanwhile)",
      [millis](Config& c, const std::string& v) {
        c.pin_lockout.lockout = millis("PIN_LOCKOUT_MS", 1'000, 24LL * 3600 * 1000)(v);
      });
  add("PIN_ROOM_DELAY_MS", "1000",
      "How long a PIN check into a room under attack waits before it is made (0 = no delay)",
      [millis](Config& c, const std::string& v) {
        c.pin_lockout.room_delay = millis("PIN_ROOM_DELAY_MS", 0, 10'000)(v);
      });
  add("JOURNAL_MEMORY_MAX_ENTRIES", "100000",
      "Durable-record entries held in memory while the database is slow or down; past this "
      "they spill to DATA_DIR/journal.spill",
      [](Config& c, const std::string& v) {
        c.journal_memory_max_entries =
            static_cast<std::size_t>(parse_int("JOURNAL_MEMORY_MAX_ENTRIES", v, 100, 100'000'000));
      });
  add("ADMIN_TOKEN", "",
      "Bearer token, at least 16 characters, of the audit log API (disabled while unset), the "
      "dashboard's data and the full GET /status (both served only to 127.0.0.1 and ::1 while "
      "unset)",
      [](Config& c, const std::string& v) {
        // A short token can be guessed over the network; the value is a secret, so the
        // error shows only its length.
        if (v.size() < kMinAdminTokenLength) {
          throw ConfigError("invalid ADMIN_TOKEN=(" + std::to_string(v.size()) +
                            " characters, not shown): expected at least " +
                            std::to_string(kMinAdminTokenLength) +
                            " characters (e.g. openssl rand -hex 32)");
        }
        c.net.admin_token = v;
      });
  add("STUN_URLS", kDefaultStunUrls,
      "Comma-separated stun:/stuns: URLs members are given for their calls (\"\" = none)",
      [](Config& c, const std::string& v) {
        c.ice.stun_urls = parse_ice_urls("STUN_URLS", v, ice::IceUrl::Kind::stun);
      });
  add("TURN_URLS", "",
      "Comma-separated turn:/turns: URLs (RFC 7065, e.g. turn:turn.example.org:3478?transport=udp) "
      "of a TURN server sharing TURN_SECRET; members get time-limited credentials for it",
      [](Config& c, const std::string& v) {
        c.ice.turn_urls = parse_ice_urls("TURN_URLS", v, ice::IceUrl::Kind::turn);
      });
  add("TURN_SECRET", "",
      "The TURN server's static-auth-secret (coturn use-auth-secret), at least 16 bytes; "
      "prefer TURN_SECRET_FILE",
      [](Config& c, const std::string& v) {
        check_turn_secret("TURN_SECRET", v);
        c.ice.turn_secret = v;
      });
  // After TURN_SECRET in this table: options apply in table order.
  add("TURN_SECRET_FILE", "", "A file holding TURN_SECRET (one trailing newline ignored)",
      [](Config& c, const std::string& v) {
        if (!c.ice.turn_secret.empty()) {
          throw ConfigError("TURN_SECRET and TURN_SECRET_FILE are both set: set one");
        }
        c.ice.turn_secret = read_turn_secret_file(v);
      });
  add("TURN_TTL_S", "86400", "Lifetime of a member's TURN credential, in seconds",
      [](Config& c, const std::string& v) {
        c.ice.turn_ttl = std::chrono::seconds(parse_int("TURN_TTL_S", v, 60, 604'800));
      });
  add("REDIS_URL", "", "redis://[:password@]host:port[/db]: run as a cluster node",
      [](Config& c, const std::string& v) {
        std::string why;
        if (!v.empty() && !redis::parse_redis_url(v, &why)) {
          invalid("REDIS_URL", v, "a redis://[[user]:password@]host[:port][/db] URL (" + why + ")");
        }
        c.redis_url = v;
      });
  add("NODE_DEAD_AFTER_MS", "15000",
      "Cluster: a node that has not refreshed its liveness key for this long is dead; the "
      "other nodes remove its members",
      [millis](Config& c, const std::string& v) {
        c.node_dead_after = millis("NODE_DEAD_AFTER_MS", 1'000, 3'600'000)(v);
      });
  add("CLUSTER_SWEEP_MS", "1000",
      "Cluster: how often a node looks for dead nodes, overdue ready gates and expired grace "
      "periods",
      [millis](Config& c, const std::string& v) {
        c.cluster_sweep = millis("CLUSTER_SWEEP_MS", 50, 60'000)(v);
      });
  add("REDIS_SENTINELS", "",
      "host:port,...: Redis Sentinels that name the master (instead of REDIS_URL; the "
      "password and db from REDIS_PASSWORD and REDIS_DB)",
      [](Config& c, const std::string& v) {
        if (v.empty()) return;
        std::string why;
        auto sentinels = redis::parse_endpoints(v, &why);
        if (!sentinels) invalid("REDIS_SENTINELS", v, why);
        c.redis_sentinel.sentinels = std::move(*sentinels);
      });
  add("REDIS_MASTER_NAME", "", "The master's name in Sentinel (with REDIS_SENTINELS)",
      [](Config& c, const std::string& v) {
        if (v.size() > 256 || v.find_first_of(" \r\n") != std::string::npos) {
          invalid("REDIS_MASTER_NAME", v, "a name without spaces, at most 256 characters");
        }
        c.redis_sentinel.master_name = v;
      });
  add("REDIS_SENTINEL_PASSWORD", "", "The sentinels' own password (their requirepass), if any",
      [](Config& c, const std::string& v) { c.redis_sentinel.password = v; });
  add("REDIS_HOST", "", "Old server's name: Redis host (used when REDIS_URL is unset)",
      [&legacy](Config&, const std::string& v) { legacy.redis_host = v; });
  add("REDIS_PORT", "6379", "Old server's name: Redis port", [&legacy](Config&, const std::string& v) {
    parse_int("REDIS_PORT", v, 1, 65535);
    legacy.redis_port = v;
  });
  add("REDIS_PASSWORD", "", "Old server's name: Redis password",
      [&legacy](Config&, const std::string& v) { legacy.redis_password = v; });
  add("REDIS_DB", "0", "Old server's name: Redis database number",
      [&legacy](Config&, const std::string& v) {
        parse_int("REDIS_DB", v, 0, 15);
        legacy.redis_db = v;
      });
  add("DATABASE_URL", "",
      "postgresql://user:password@host:port/db: keep the durable record in PostgreSQL instead of SQLite",
      [](Config& c, const std::string& v) {
        if (!v.empty() && v.rfind("postgres://", 0) != 0 && v.rfind("postgresql://", 0) != 0) {
          invalid("DATABASE_URL", v, "a postgresql:// URL");
        }
        c.database_url = v;
      });
  add("POSTGRES_HOST", "", "Old server's name: PostgreSQL host (used when DATABASE_URL is unset)",
      [&legacy](Config&, const std::string& v) { legacy.pg_host = v; });
  add("POSTGRES_PORT", "5432", "Old server's name: PostgreSQL port",
      [&legacy](Config&, const std::string& v) {
        parse_int("POSTGRES_PORT", v, 1, 65535);
        legacy.pg_port = v;
      });
  add("POSTGRES_DB", "tandem", "Old server's name: PostgreSQL database",
      [&legacy](Config&, const std::string& v) { legacy.pg_db = v; });
  add("POSTGRES_USER", "tandem", "Old server's name: PostgreSQL user",
      [&legacy](Config&, const std::string& v) { legacy.pg_user = v; });
  add("POSTGRES_PASSWORD", "", "Old server's name: PostgreSQL password",
      [&legacy](Config&, const std::string& v) { legacy.pg_password = v; });
  add("POSTGRES_POOL_SIZE", "1",
      "Old server's name; accepted for compatibility (one writer thread writes in batches)",
      [](Config&, const std::string& v) { parse_int("POSTGRES_POOL_SIZE", v, 1, 1000); });
  return o;
}

}  // namespace

std::vector<OptionInfo> config_options() {
  Legacy legacy;
  std::vector<OptionInfo> out;
  for (auto& option : make_options(legacy)) out.push_back(option.info);
  return out;
}

Config load_config(const std::vector<std::string>& args,
                   const std::function<const char*(const char*)>& env) {
  Legacy legacy;
  const auto options = make_options(legacy);
  std::map<std::string, std::string> values;  // env name -> value
  for (const auto& option : options) {
    if (const char* v = env(option.info.env.c_str())) values[option.info.env] = v;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto it = std::find_if(options.begin(), options.end(),
                           [&](const Option& o) { return o.info.flag == name; });
    if (it == options.end()) throw ConfigError("unknown option " + name + " (see --help)");
    if (!has_value) {
      if (i + 1 >= args.size()) throw ConfigError("option " + name + " needs a value");
      value = args[++i];
    }
    values[it->info.env] = value;
  }

  Config config;
  for (const auto& option : options) {
    auto it = values.find(option.info.env);
    const std::string& value = it != values.end() ? it->second : option.info.default_value;
    // Empty means "unset" for options whose default is empty (NODE_ID, PUBLIC_URL, ...).
    if (value.empty() && option.info.default_value.empty()) continue;
    option.apply(config, value);
  }
  if (config.ice.turn_enabled() && config.ice.turn_secret.empty()) {
    throw ConfigError("TURN_URLS is set but TURN_SECRET and TURN_SECRET_FILE are not: set one");
  }
  if (!config.ice.turn_enabled() && !config.ice.turn_secret.empty()) {
    throw ConfigError(
        "TURN_SECRET (or TURN_SECRET_FILE) is set but TURN_URLS is not: set both or neither");
  }
  if (config.net.node_id.empty()) config.net.node_id = default_node_id();
  // With PORT=0 the real port is known only after binding: the server fills it in then.
  if (config.net.public_url.empty() && config.net.port != 0) {
    config.net.public_url = "http://localhost:" + std::to_string(config.net.port);
  }
  if (config.redis_sentinel.enabled()) {
    if (config.redis_sentinel.master_name.empty()) {
      throw ConfigError("REDIS_SENTINELS is set but REDIS_MASTER_NAME is not: set both");
    }
    if (!config.redis_url.empty() || !legacy.redis_host.empty()) {
      throw ConfigError(
          "REDIS_SENTINELS and REDIS_URL (or REDIS_HOST) are both set: set one (with Sentinel, "
          "REDIS_PASSWORD and REDIS_DB give the master's password and db)");
    }
    // The host is a placeholder: the sentinels name the master.
    config.redis_url = "redis://" +
                       (legacy.redis_password.empty() ? "" : ":" + percent_encode(legacy.redis_password) + "@") +
                       "sentinel-master:6379/" + legacy.redis_db;
  } else if (!config.redis_sentinel.master_name.empty()) {
    throw ConfigError("REDIS_MASTER_NAME is set but REDIS_SENTINELS is not: set both");
  }
  if (config.redis_url.empty() && !legacy.redis_host.empty()) {
    config.redis_url = "redis://" +
                       (legacy.redis_password.empty() ? "" : ":" + percent_encode(legacy.redis_password) + "@") +
                       legacy.redis_host + ":" + legacy.redis_port + "/" + legacy.redis_db;
  }
  if (config.database_url.empty() && !legacy.pg_host.empty()) {
    config.database_url = "postgresql://" + percent_encode(legacy.pg_user) +
                          (legacy.pg_password.empty() ? "" : ":" + percent_encode(legacy.pg_password)) + "@" +
                          legacy.pg_host + ":" + legacy.pg_port + "/" + legacy.pg_db;
  }
  return config;
}

std::string config_help() {
  std::string out =
      "tandem-server: the tandem.watch signaling server\n\n"
      "Usage: tandem-server [--option value | --option=value]...\n"
      "Every option can also be set as an environment variable; flags win.\n\n";
  for (const auto& o : config_options()) {
    out += "  " + o.flag + " (" + o.env + ")";
    if (!o.default_value.empty()) out += " [default: " + o.default_value + "]";
    out += "\n      " + o.help + "\n";
  }
  out += "\n  --help            this text\n  --config-schema   the options as JSON\n";
  return out;
}

std::string config_schema_json() {
  boost::json::array out;
  for (const auto& o : config_options()) {
    out.push_back(boost::json::object{
        {"env", o.env}, {"flag", o.flag}, {"default", o.default_value}, {"help", o.help}});
  }
  return boost::json::serialize(out);
}

}  // namespace tandem::app
