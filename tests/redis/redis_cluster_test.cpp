// Redis Cluster (REDIS_CLUSTER_NODES): the slot rule and the redirects (pure), then
// RedisClusterConnection and RedisClusterSubscriber against a real three-master cluster made
// by the test (`redis-cli --cluster create` over three redis-servers on free loopback
// ports): commands reach the master of their key's slot and follow a slot moved by hand
// (ASK while it migrates, MOVED once it has); channels are subscribed only on the master
// that owns their slot, and move with it.
#include "redis/redis_test_util.hpp"

#include "redis/hash_slot.hpp"
#include "redis/redis_cluster_connection.hpp"
#include "redis/redis_cluster_subscriber.hpp"
#include "redis/slot_map.hpp"

#include "common/child_process.hpp"
#include "common/test_os.hpp"

#include <sys/wait.h>

#include <memory>
#include <set>
#include <string>

namespace tandem::test {
namespace {

using redis::Endpoint;
using redis::Reply;

TEST(HashSlot, TheSpecificationsValues) {
  EXPECT_EQ(redis::crc16("123456789"), 0x31C3);  // the spec's check value for XMODEM
  EXPECT_EQ(redis::hash_slot("foo"), 12182);      // CLUSTER KEYSLOT foo
  EXPECT_EQ(redis::hash_slot("{user1000}.following"), redis::hash_slot("{user1000}.followers"));
  EXPECT_EQ(redis::hash_slot("{user1000}.following"), redis::hash_slot("user1000"));
  // An empty tag does not count: the whole key is hashed; only the first '{' opens a tag.
  EXPECT_EQ(redis::hash_slot("foo{}{bar}"), redis::crc16("foo{}{bar}") % 16384);
  EXPECT_EQ(redis::hash_slot("foo{{bar}}zap"), redis::hash_slot("{bar"));
  EXPECT_EQ(redis::hash_slot("foo{bar}{zap}"), redis::hash_slot("bar"));
  EXPECT_EQ(redis::hash_slot("tandem:{room:r}:state"), redis::hash_slot("tandem:{room:r}:events"));
}

TEST(HashSlot, TheKeyOfACommand) {
  EXPECT_EQ(redis::command_slot({"GET", "foo"}), 12182);
  EXPECT_EQ(redis::command_slot({"EVALSHA", "sha", "1", "foo", "arg"}), 12182);
  EXPECT_EQ(redis::command_slot({"eval", "return 1", "2", "foo", "foo"}), 12182);
  EXPECT_EQ(redis::command_slot({"EVALSHA", "sha", "0", "arg"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"PING"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"cluster", "slots"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"PUBLISH", "foo", "m"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"SPUBLISH", "foo", "m"}), 12182);
}

TEST(SlotMapParse, RedirectsAndMaps) {
  const auto moved = redis::parse_redirect(Reply::from_error("MOVED 3999 127.0.0.1:6381"));
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->to, (Endpoint{"127.0.0.1", 6381}));
  const auto ask = redis::parse_redirect(Reply::from_error("ASK 1 [::1]:7000"));
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->to, (Endpoint{"::1", 7000}));
  for (const char* bad : {"MOVED", "MOVED 16384 h:1", "MOVED 1 h", "ASK x h:1", "ERR x"}) {
    EXPECT_FALSE(redis::parse_redirect(Reply::from_error(bad))) << bad;
  }
  EXPECT_FALSE(redis::parse_redirect(Reply::from_string("MOVED 1 h:1")));

  const auto range = [](std::int64_t a, std::int64_t b, std::string ip, std::int64_t port) {
    return Reply::from_array({Reply::from_integer(a), Reply::from_integer(b),
                              Reply::from_array({Reply::from_string(std::move(ip)),
                                                 Reply::from_integer(port),
                                                 Reply::from_string("id")})});
  };
  std::string why;
  const auto map = redis::SlotMap::from_cluster_slots(
      Reply::from_array({range(0, 5000, "10.0.0.1", 7000), range(5001, 16383, "", 7001)}),
      "seed", &why);
  ASSERT_TRUE(map) << why;
  EXPECT_EQ(map->master_of(0), (Endpoint{"10.0.0.1", 7000}));
  EXPECT_EQ(map->master_of(5001), (Endpoint{"seed", 7001}));  // "": the node asked
  EXPECT_EQ(map->masters().size(), 2u);
  EXPECT_FALSE(redis::SlotMap::from_cluster_slots(
      Reply::from_array({range(0, 5000, "10.0.0.1", 7000)}), "seed", &why));
  EXPECT_NE(why.find("not every slot"), std::string::npos);
  EXPECT_FALSE(redis::SlotMap::from_cluster_slots(
      Reply::from_array({range(0, 16384, "h", 1)}), "seed", &why));
  EXPECT_FALSE(redis::SlotMap::from_cluster_slots(Reply::from_error("ERR"), "seed", &why));
}

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> create = {"/usr/bin/redis-cli", "--cluster", "create"};
    for (int i = 0; i < 3; ++i) {
      // The bus port is the client port + 10000 unless set: a free port of its own. A test
      // running beside this one may take either port between the check and the bind, so a
      // failed start is retried with new ports (bounded).
      for (int attempt = 0;; ++attempt) {
        RedisServer::Options options;
        options.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                              "--cluster-node-timeout", "2000", "--cluster-port",
                              std::to_string(free_loopback_port())};
        try {
          nodes_.push_back(std::make_unique<RedisServer>(options));
          break;
        } catch (const std::runtime_error&) {
          if (attempt == 4) throw;
        }
      }
      create.push_back("127.0.0.1:" + std::to_string(nodes_.back()->port()));
    }
    create.push_back("--cluster-yes");
    pid_t cli = spawn_child(create, SpawnOptions{dir_.path() / "redis-cli.log", 9, std::nullopt});
    int status = -1;
    ASSERT_TRUE(wait_child(cli, 30s, &status));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "redis-cli --cluster create";
    ASSERT_TRUE(loop_.run_until(
        [&] {
          for (auto& node : nodes_) {
            if (node->run({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
              return false;
            }
          }
          return true;
        },
        30s));
  }

  std::unique_ptr<redis::RedisClusterConnection> connect() {
    redis::RedisConfig base;
    base.backoff_initial = 20ms;
    base.backoff_max = 200ms;
    std::vector<Endpoint> seeds{{"127.0.0.1", nodes_[0]->port()}};
    auto c = std::make_unique<redis::RedisClusterConnection>(loop_.executor(), base, seeds,
                                                             logger_, registry_);
    c->start();
    EXPECT_TRUE(loop_.run_until([&] { return c->connected(); }));
    return c;
  }

  RedisServer& node_at(const Endpoint& e) {
    for (auto& node : nodes_) {
      if (node->port() == e.port) return *node;
    }
    throw std::runtime_error("no node on port " + std::to_string(e.port));
  }

  Reply call_cluster(redis::RedisClusterConnection& c, const std::vector<std::string>& args) {
    std::optional<Reply> reply;
    c.command(args, [&](Reply r) { reply = std::move(r); });
    EXPECT_TRUE(loop_.run_until([&] { return reply.has_value(); }));
    return reply.value_or(Reply::from_error("TEST no reply"));
  }

  // Moves `slot` from `from` to `to` by hand, as redis-cli --cluster reshard does; stops
  // after the keys moved and before the slot's owner is switched when `finish` is false.
  void migrate(std::uint16_t slot, RedisServer& from, RedisServer& to, bool finish) {
    const std::string s = std::to_string(slot);
    const std::string from_id = from.run({"CLUSTER", "MYID"});
    const std::string to_id = to.run({"CLUSTER", "MYID"});
    ASSERT_EQ(to.run({"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}), "OK");
    ASSERT_EQ(from.run({"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}), "OK");
    for (const auto& key : split(from.run({"CLUSTER", "GETKEYSINSLOT", s, "100"}))) {
      ASSERT_EQ(from.run({"MIGRATE", "127.0.0.1", std::to_string(to.port()), key, "0", "5000"}),
                "OK");
    }
    if (!finish) return;
    for (auto& node : nodes_) node->run({"CLUSTER", "SETSLOT", s, "NODE", to_id});
  }

  static std::vector<std::string> split(const std::string& joined) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (!joined.empty() && start <= joined.size()) {
      const auto comma = joined.find(',', start);
      out.push_back(joined.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  }

  Loop loop_;
  obs::Logger logger_{"test", obs::Level::error, stderr};
  obs::Registry registry_;
  TempDir dir_{"tandem-redis-cluster"};
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

TEST_F(RedisClusterTest, CommandsReachTheMasterOfTheirSlot) {
  auto c = connect();
  EXPECT_EQ(c->master_count(), 3u);
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 30; ++i) {
    const std::string key = "tandem:{room:r" + std::to_string(i) + "}:state";
    ASSERT_EQ(call_cluster(*c, {"SET", key, std::to_string(i)}), Reply::from_status("OK"));
    const Endpoint master = *c->master_for(key);
    EXPECT_EQ(node_at(master).run({"GET", key}), std::to_string(i)) << key;  // no redirect
    ports.insert(master.port);
  }
  EXPECT_EQ(ports.size(), 3u) << "30 rooms all on fewer than three masters";
  const redis::LuaScript script("return redis.call('GET', KEYS[1])");
  std::optional<Reply> reply;
  c->eval_sha(script, {"tandem:{room:r7}:state"}, {}, [&](Reply r) { reply = std::move(r); });
  ASSERT_TRUE(loop_.run_until([&] { return reply.has_value(); }));
  EXPECT_EQ(*reply, Reply::from_string("7"));
}

TEST_F(RedisClusterTest, FollowsASlotThatMigratesAndThenMoves) {
  auto c = connect();
  const std::string key = "tandem:{room:moving}:state";
  ASSERT_EQ(call_cluster(*c, {"SET", key, "1"}), Reply::from_status("OK"));
  const Endpoint before = *c->master_for(key);
  RedisServer& from = node_at(before);
  RedisServer& to = *nodes_[from.port() == nodes_[0]->port() ? 1 : 0];
  const std::uint16_t slot = redis::hash_slot(key);

  // Mid-migration: the key is on `to`; `from` answers ASK for it.
  migrate(slot, from, to, false);
  const std::string s = std::to_string(slot);
  ASSERT_EQ(to.run({"CLUSTER", "COUNTKEYSINSLOT", s}), "1");
  ASSERT_EQ(from.run({"CLUSTER", "COUNTKEYSINSLOT", s}), "0");
  EXPECT_EQ(call_cluster(*c, {"GET", key}), Reply::from_string("1"));
  EXPECT_EQ(*c->master_for(key), before) << "an ASK must not change the map";
  ASSERT_EQ(call_cluster(*c, {"SET", key, "2"}), Reply::from_status("OK"));

  // Done: `from` answers MOVED, the map follows, and so does a script.
  for (auto& node : nodes_) node->run({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE",
                                       to.run({"CLUSTER", "MYID"})});
  EXPECT_EQ(to.run({"GET", key}), "2");  // the SET went through ASKING to `to`
  EXPECT_EQ(call_cluster(*c, {"INCR", key}), Reply::from_integer(3));
  EXPECT_EQ(c->master_for(key)->port, to.port());
  const redis::LuaScript script("return redis.call('INCR', KEYS[1])");
  std::optional<Reply> reply;
  c->eval_sha(script, {key}, {}, [&](Reply r) { reply = std::move(r); });
  ASSERT_TRUE(loop_.run_until([&] { return reply.has_value(); }));
  EXPECT_EQ(*reply, Reply::from_integer(4));
}

TEST_F(RedisClusterTest, ShardedChannelsLiveOnTheMasterOfTheirSlotAndMoveWithIt) {
  auto c = connect();
  redis::RedisConfig base;
  base.backoff_initial = 20ms;
  base.backoff_max = 200ms;
  redis::RedisClusterSubscriber sub(loop_.executor(), base, *c, logger_);
  std::vector<std::pair<std::string, std::string>> messages;
  std::size_t confirmed = 0;
  sub.on_message([&](const std::string& ch, const std::string& m) { messages.emplace_back(ch, m); });
  sub.on_subscribed([&](const std::string&) { ++confirmed; });
  std::vector<std::string> channels;
  for (int i = 0; i < 6; ++i) {
    channels.push_back("tandem:{room:r" + std::to_string(i) + "}:events");
    sub.subscribe(channels.back());
  }
  ASSERT_TRUE(loop_.run_until([&] { return confirmed == channels.size(); }));

  // Each channel is subscribed on its slot's master and nowhere else: an SPUBLISH for a
  // room reaches that shard only.
  std::set<std::uint16_t> used;
  for (const auto& ch : channels) {
    const Endpoint owner = *c->master_for(ch);
    used.insert(owner.port);
    EXPECT_EQ(sub.placed_on(ch), owner);
    for (auto& node : nodes_) {
      EXPECT_EQ(node->run({"PUBSUB", "SHARDNUMSUB", ch}),
                ch + (node->port() == owner.port ? ",1" : ",0"))
          << ch << " on " << node->port();
    }
  }
  EXPECT_GE(used.size(), 2u);
  for (const auto& ch : channels) {
    EXPECT_EQ(call_cluster(*c, {"SPUBLISH", ch, "hello " + ch}), Reply::from_integer(1));
  }
  ASSERT_TRUE(loop_.run_until([&] { return messages.size() == channels.size(); }));
  EXPECT_EQ(messages[0], std::make_pair(channels[0], "hello " + channels[0]));

  // The slot of channel 0 moves to another master: its old master drops the subscription
  // ("sunsubscribe"), and the subscriber follows to the new owner.
  RedisServer& from = node_at(*c->master_for(channels[0]));
  RedisServer& to = *nodes_[from.port() == nodes_[0]->port() ? 1 : 0];
  migrate(redis::hash_slot(channels[0]), from, to, true);
  ASSERT_TRUE(loop_.run_until([&] { return confirmed == channels.size() + 1; }))
      << "not subscribed again after the move";
  EXPECT_EQ(sub.placed_on(channels[0])->port, to.port());
  EXPECT_EQ(to.run({"PUBSUB", "SHARDNUMSUB", channels[0]}), channels[0] + ",1");
  EXPECT_EQ(from.run({"PUBSUB", "SHARDNUMSUB", channels[0]}), channels[0] + ",0");
  EXPECT_EQ(call_cluster(*c, {"SPUBLISH", channels[0], "moved"}), Reply::from_integer(1));
  ASSERT_TRUE(loop_.run_until([&] { return messages.size() == channels.size() + 1; }));
  EXPECT_EQ(messages.back(), std::make_pair(channels[0], std::string("moved")));
}

}  // namespace
}  // namespace tandem::test
