#include "app/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <map>

namespace tandem::app {
namespace {

Config load(std::map<std::string, std::string> env, std::vector<std::string> args = {}) {
  return load_config(args, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(Config, DefaultsMatchTheProtocol) {
  const Config c = load({{"NODE_ID", "n1"}});
  EXPECT_EQ(c.net.port, 4001);
  EXPECT_EQ(c.net.host, "0.0.0.0");
  EXPECT_EQ(c.net.node_id, "n1");
  EXPECT_EQ(c.net.public_url, "http://localhost:4001");
  EXPECT_EQ(c.room.reconnect_grace, 10'000);
  EXPECT_EQ(c.room.gate_timeout, 7'000);
  EXPECT_EQ(c.net.idle_timeout, std::chrono::milliseconds(120'000));
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_TRUE(c.redis_url.empty());
  EXPECT_TRUE(c.database_url.empty());
}

TEST(Config, NodeIdDefaultsToTheHostname) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  std::string expected(host);
  for (char& c : expected) {  // what a NODE_ID may hold (docs/CONFIG.md)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  }
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(load({}).net.node_id, expected.substr(0, 64));
}

TEST(Config, EnvironmentIsRead) {
  const Config c = load({{"PORT", "8080"}, {"RECONNECT_GRACE_MS", "0"},
                         {"HEARTBEAT_TIMEOUT_MS", "1000"}, {"LOG_LEVEL", "debug"},
                         {"PUBLIC_URL", "https://tandem.watch/"}, {"STATUS_LIST_ROOMS", "false"}});
  EXPECT_EQ(c.net.port, 8080);
  EXPECT_EQ(c.room.reconnect_grace, 0);
  EXPECT_EQ(c.net.idle_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.log_level, obs::Level::debug);
  EXPECT_EQ(c.net.public_url, "https://tandem.watch");
  EXPECT_FALSE(c.net.status_list_rooms);
}

TEST(Config, FlagsOverrideEnvironment) {
  const Config c = load({{"PORT", "abc"}}, {"--port=5000", "--gate-timeout-ms", "900"});
  EXPECT_EQ(c.net.port, 5000);
  EXPECT_EQ(c.room.gate_timeout, 900);
}

TEST(Config, InvalidValuesNameTheVariable) {
  const auto message = [](std::map<std::string, std::string> env) {
    try {
      load(std::move(env));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"PORT", "abc"}}).find("PORT"), std::string::npos);
  EXPECT_NE(message({{"PORT", "70000"}}).find("PORT"), std::string::npos);
  EXPECT_NE(message({{"PORT", ""}}).find("PORT"), std::string::npos);
  EXPECT_NE(message({{"RECONNECT_GRACE_MS", "-1"}}).find("RECONNECT_GRACE_MS"), std::string::npos);
  EXPECT_NE(message({{"LOG_LEVEL", "loud"}}).find("LOG_LEVEL"), std::string::npos);
  EXPECT_NE(message({{"HOST", "example.com"}}).find("HOST"), std::string::npos);
  EXPECT_NE(message({{"NODE_ID", "a b"}}).find("NODE_ID"), std::string::npos);
  EXPECT_NE(message({{"PUBLIC_URL", "ftp://x"}}).find("PUBLIC_URL"), std::string::npos);
  EXPECT_NE(message({{"STATUS_LIST_ROOMS", "maybe"}}).find("STATUS_LIST_ROOMS"), std::string::npos);
  EXPECT_NE(message({{"DRAIN_TIMEOUT_MS", "20000"}}).find("DRAIN_TIMEOUT_MS"), std::string::npos);
  EXPECT_NE(message({{"SEND_QUEUE_MAX_BYTES", "1000"}}).find("SEND_QUEUE_MAX_BYTES"),
            std::string::npos);
}

TEST(Config, ClientAndConnectionLimits) {
  const Config d = load({});
  EXPECT_TRUE(d.net.trusted_proxies.empty());
  EXPECT_EQ(d.net.max_connections_per_ip, 256u);
  EXPECT_EQ(d.net.max_pending_per_ip, 64u);
  EXPECT_EQ(d.net.request_timeout, std::chrono::milliseconds(5'000));
  EXPECT_EQ(d.net.relay_bytes_per_second, 65'536);
  EXPECT_EQ(d.net.relay_bytes_burst, 262'144);
  const Config c = load({{"TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8"},
                         {"MAX_CONNECTIONS_PER_IP", "10"},
                         {"MAX_PENDING_PER_IP", "4"},
                         {"HTTP_REQUEST_TIMEOUT_MS", "2000"},
                         {"RELAY_BYTES_PER_SEC", "10000"},
                         {"RELAY_BYTES_BURST", "100000"}});
  EXPECT_TRUE(c.net.trusted_proxies.contains(boost::asio::ip::make_address("10.1.2.3")));
  EXPECT_TRUE(c.net.trusted_proxies.contains(boost::asio::ip::make_address("fd00::1")));
  EXPECT_FALSE(c.net.trusted_proxies.contains(boost::asio::ip::make_address("11.0.0.1")));
  EXPECT_EQ(c.net.max_connections_per_ip, 10u);
  EXPECT_EQ(c.net.max_pending_per_ip, 4u);
  EXPECT_EQ(c.net.request_timeout, std::chrono::milliseconds(2'000));
  EXPECT_EQ(c.net.relay_bytes_per_second, 10'000);
  EXPECT_EQ(c.net.relay_bytes_burst, 100'000);
  try {
    load({{"TRUSTED_PROXIES", "10.0.0.1/8"}});
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("TRUSTED_PROXIES"), std::string::npos) << what;
    EXPECT_NE(what.find("10.0.0.1/8"), std::string::npos) << what;
  }
  EXPECT_THROW(load({{"TRUSTED_PROXIES", "proxy.internal"}}), ConfigError);
  EXPECT_THROW(load({{"MAX_CONNECTIONS_PER_IP", "0"}}), ConfigError);
  EXPECT_THROW(load({{"MAX_PENDING_PER_IP", "0"}}), ConfigError);
  EXPECT_THROW(load({{"HTTP_REQUEST_TIMEOUT_MS", "50"}}), ConfigError);
  // A burst smaller than one maximum-size message would refuse that message forever.
  EXPECT_THROW(load({{"RELAY_BYTES_BURST", "65535"}}), ConfigError);
}

TEST(Config, AdminTokenShorterThan16CharactersIsRefusedWithoutShowingIt) {
  try {
    load({{"ADMIN_TOKEN", "short-secret-15"}});
    FAIL() << "a 15-character ADMIN_TOKEN was accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ADMIN_TOKEN"), std::string::npos) << what;
    EXPECT_NE(what.find("16"), std::string::npos) << what;
    EXPECT_EQ(what.find("short-secret-15"), std::string::npos) << "the secret is printed: " << what;
  }
  EXPECT_THROW(load({{"ADMIN_TOKEN", "a"}}), ConfigError);
  EXPECT_EQ(load({{"ADMIN_TOKEN", "sixteen-chars-ok"}}).net.admin_token, "sixteen-chars-ok");
  EXPECT_TRUE(load({{"ADMIN_TOKEN", ""}}).net.admin_token.empty()) << "empty = unset";
}

TEST(Config, BoundsOfTablesAndDisks) {
  const Config d = load({});
  EXPECT_EQ(d.short_id_pending_ttl, 600'000);
  EXPECT_EQ(d.short_id_max_new_per_address, 60U);
  EXPECT_EQ(d.short_id_max_pending, 100'000U);
  EXPECT_EQ(d.events_max_bytes_per_room, 1LL << 20);
  EXPECT_EQ(d.events_max_bytes, 1LL << 30);
  EXPECT_EQ(d.archived_rooms_retention_days, 30);
  EXPECT_TRUE(d.ready_requires_store);
  const Config c = load({{"SHORT_ID_PENDING_TTL_MS", "5000"},
                         {"SHORT_ID_MAX_NEW_PER_ADDRESS", "3"},
                         {"SHORT_ID_MAX_PENDING", "10"},
                         {"EVENTS_MAX_BYTES_PER_ROOM", "0"},
                         {"EVENTS_MAX_BYTES", "65536"},
                         {"ARCHIVED_ROOMS_RETENTION_DAYS", "0"},
                         {"READY_REQUIRES_STORE", "false"}});
  EXPECT_EQ(c.short_id_pending_ttl, 5'000);
  EXPECT_EQ(c.short_id_max_new_per_address, 3U);
  EXPECT_EQ(c.short_id_max_pending, 10U);
  EXPECT_EQ(c.events_max_bytes_per_room, 0);
  EXPECT_EQ(c.events_max_bytes, 65536);
  EXPECT_EQ(c.archived_rooms_retention_days, 0);
  EXPECT_FALSE(c.ready_requires_store);
  EXPECT_THROW(load({{"EVENTS_MAX_BYTES_PER_ROOM", "100"}}), ConfigError);
  EXPECT_THROW(load({{"EVENTS_MAX_BYTES", "-1"}}), ConfigError);
  EXPECT_THROW(load({{"SHORT_ID_MAX_NEW_PER_ADDRESS", "0"}}), ConfigError);
  EXPECT_THROW(load({{"SHORT_ID_PENDING_TTL_MS", "999"}}), ConfigError);
}

TEST(Config, UnknownFlagIsAnError) {
  EXPECT_THROW(load({}, {"--no-such-option=1"}), ConfigError);
  EXPECT_THROW(load({}, {"--port"}), ConfigError);
}

TEST(Config, OldServerRedisAndPostgresNamesBuildUrls) {
  const Config c = load({{"REDIS_HOST", "redis"}, {"REDIS_PORT", "6380"},
                         {"REDIS_PASSWORD", "pw"}, {"REDIS_DB", "2"},
                         {"POSTGRES_HOST", "db"}, {"POSTGRES_USER", "u"},
                         {"POSTGRES_PASSWORD", "p"}, {"POSTGRES_DB", "tw"}});
  EXPECT_EQ(c.redis_url, "redis://:pw@redis:6380/2");
  EXPECT_EQ(c.database_url, "postgresql://u:p@db:5432/tw");
  // The URL forms win over the split names.
  const Config d = load({{"REDIS_HOST", "redis"}, {"REDIS_URL", "redis://other:1/0"}});
  EXPECT_EQ(d.redis_url, "redis://other:1/0");
}

TEST(Config, SentinelOptions) {
  const Config c = load({{"REDIS_SENTINELS", "s1:26379,10.0.0.2:26380"},
                         {"REDIS_MASTER_NAME", "tandem"},
                         {"REDIS_SENTINEL_PASSWORD", "spw"},
                         {"REDIS_PASSWORD", "p@ss"},
                         {"REDIS_DB", "3"}});
  EXPECT_EQ(c.redis_sentinel.sentinels,
            (std::vector<redis::Endpoint>{{"s1", 26379}, {"10.0.0.2", 26380}}));
  EXPECT_EQ(c.redis_sentinel.master_name, "tandem");
  EXPECT_EQ(c.redis_sentinel.password, "spw");
  // Cluster mode; the URL carries the master's password and db, its host is not used.
  const auto url = redis::parse_redis_url(c.redis_url);
  ASSERT_TRUE(url);
  EXPECT_EQ(url->password, "p@ss");
  EXPECT_EQ(url->db, 3);
  EXPECT_FALSE(load({}).redis_sentinel.enabled());

  const auto message = [](std::map<std::string, std::string> env) {
    try {
      load(std::move(env));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"REDIS_SENTINELS", "s1"}, {"REDIS_MASTER_NAME", "m"}})
                .find("REDIS_SENTINELS"),
            std::string::npos);
  EXPECT_NE(message({{"REDIS_SENTINELS", "s1:26379"}}).find("REDIS_MASTER_NAME"),
            std::string::npos);
  EXPECT_NE(message({{"REDIS_MASTER_NAME", "m"}}).find("REDIS_SENTINELS"), std::string::npos);
  EXPECT_NE(message({{"REDIS_SENTINELS", "s1:26379"}, {"REDIS_MASTER_NAME", "m"},
                     {"REDIS_URL", "redis://cache:6379/0"}})
                .find("set one"),
            std::string::npos);
  EXPECT_NE(message({{"REDIS_SENTINELS", "s1:26379"}, {"REDIS_MASTER_NAME", "a b"}})
                .find("REDIS_MASTER_NAME"),
            std::string::npos);
}

TEST(Config, ClusterOptions) {
  const Config c = load({{"REDIS_URL", "redis://:s%40cret@cache:6380/1"},
                         {"NODE_DEAD_AFTER_MS", "5000"}, {"CLUSTER_SWEEP_MS", "250"}});
  EXPECT_EQ(c.redis_url, "redis://:s%40cret@cache:6380/1");
  EXPECT_EQ(c.node_dead_after, 5000);
  EXPECT_EQ(c.cluster_sweep, 250);
  const Config d = load({});
  EXPECT_EQ(d.node_dead_after, 15000);
  EXPECT_EQ(d.cluster_sweep, 1000);
  // The old server's password is percent-encoded into the URL, so it parses back intact.
  const Config e = load({{"REDIS_HOST", "cache"}, {"REDIS_PASSWORD", "p@ss:w/rd%"}});
  EXPECT_EQ(e.redis_url, "redis://:p%40ss%3Aw%2Frd%25@cache:6379/0");
  const Config f = load({{"POSTGRES_HOST", "db"}, {"POSTGRES_PASSWORD", "a@b/c"}});
  EXPECT_EQ(f.database_url, "postgresql://tandem:a%40b%2Fc@db:5432/tandem");
  EXPECT_THROW(load({{"REDIS_URL", "redis://"}}), ConfigError);
  EXPECT_THROW(load({{"REDIS_URL", "rediss://cache:6379"}}), ConfigError);  // no TLS client
  EXPECT_THROW(load({{"REDIS_URL", "http://cache"}}), ConfigError);
  EXPECT_THROW(load({{"NODE_DEAD_AFTER_MS", "10"}}), ConfigError);
}

TEST(Config, EveryOptionHasAFlagAndHelp) {
  for (const auto& o : config_options()) {
    EXPECT_EQ(o.flag.rfind("--", 0), 0u) << o.env;
    EXPECT_FALSE(o.help.empty()) << o.env;
  }
  EXPECT_NE(config_schema_json().find("\"RECONNECT_GRACE_MS\""), std::string::npos);
}

}  // namespace
}  // namespace tandem::app

#include <fstream>
#include <sstream>

namespace tandem::app {
namespace {

// docs/CONFIG.md is the operators' reference: it must name every option the code accepts.
TEST(Config, DocumentationListsEveryOption) {
  std::ifstream file(std::string(TANDEM_SOURCE_DIR) + "/docs/CONFIG.md");
  ASSERT_TRUE(file) << "docs/CONFIG.md missing";
  std::stringstream text;
  text << file.rdbuf();
  for (const auto& o : config_options()) {
    EXPECT_NE(text.str().find("`" + o.env + "`"), std::string::npos) << o.env;
  }
}

}  // namespace
}  // namespace tandem::app
