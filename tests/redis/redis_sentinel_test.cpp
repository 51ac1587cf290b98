// Sentinel mode (REDIS_SENTINELS) against real servers: a master, its replica and a sentinel
// watching them, each a redis-server started by the test on a free loopback port. The
// client must find the master through the sentinel, and follow a failover by itself: its
// commands and its subscriptions end up on the new master.
#include "redis/redis_test_util.hpp"

#include "redis/redis_subscriber.hpp"
#include "redis/sentinel_client.hpp"

#include <memory>
#include <string>

namespace tandem::test {
namespace {

using redis::Endpoint;
using redis::Reply;

TEST(SentinelParse, EndpointLists) {
  const auto list = redis::parse_endpoints("10.0.0.1:26379,sentinel-b:26380,[::1]:5000");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::vector<Endpoint>{
                       {"10.0.0.1", 26379}, {"sentinel-b", 26380}, {"::1", 5000}}));
  std::string why;
  for (const char* bad : {"", "host", "host:", "host:0", "host:65536", ":26379", "a:1,,b:2",
                          "::1:26379", "host:26379x"}) {
    EXPECT_FALSE(redis::parse_endpoints(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(SentinelParse, MasterAddressReply) {
  EXPECT_EQ(redis::master_from_reply(Reply::from_array(
                {Reply::from_string("127.0.0.1"), Reply::from_string("6380")})),
            (Endpoint{"127.0.0.1", 6380}));
  EXPECT_FALSE(redis::master_from_reply(Reply::nil()));  // a master it does not know
  EXPECT_FALSE(redis::master_from_reply(Reply::from_error("ERR no such master")));
  EXPECT_FALSE(redis::master_from_reply(Reply::from_array({Reply::from_string("127.0.0.1")})));
  EXPECT_FALSE(redis::master_from_reply(Reply::from_array(
      {Reply::from_string("127.0.0.1"), Reply::from_string("port")})));
}

TEST(SentinelParse, SwitchMasterMessages) {
  EXPECT_EQ(redis::switched_master("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster"),
            (Endpoint{"127.0.0.1", 6380}));
  EXPECT_FALSE(redis::switched_master("other 127.0.0.1 6379 127.0.0.1 6380", "mymaster"));
  EXPECT_FALSE(redis::switched_master("mymaster 127.0.0.1 6379 127.0.0.1", "mymaster"));
  EXPECT_FALSE(redis::switched_master("mymaster 127.0.0.1 6379 127.0.0.1 6380 x", "mymaster"));
  EXPECT_FALSE(redis::switched_master("mymaster 127.0.0.1 6379 127.0.0.1 0", "mymaster"));
}

class RedisSentinelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = std::make_unique<RedisServer>();
    replica_ = std::make_unique<RedisServer>(RedisServer::replica_of(*master_));
    sentinel_ = std::make_unique<RedisServer>(
        RedisServer::sentinel_for(*master_, "mymaster", 1, 500ms));
    // A failover needs a replica in sync that the sentinel knows of.
    ASSERT_TRUE(poll([&] {
      return replica_->run({"INFO", "replication"}).find("master_link_status:up") !=
                 std::string::npos &&
             sentinel_->run({"SENTINEL", "REPLICAS", "mymaster"})
                     .find(std::to_string(replica_->port())) != std::string::npos;
    })) << sentinel_->log();
  }

  // Polls a condition on the servers while the client's loop keeps running.
  bool poll(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
    return loop_.run_until(done, timeout);
  }

  redis::RedisConfig config() const {
    redis::RedisConfig c;
    c.host = "unused";  // Sentinel mode: the sentinel names the master
    c.sentinel.sentinels = {{"127.0.0.1", sentinel_->port()}};
    c.sentinel.master_name = "mymaster";
    c.backoff_initial = 20ms;
    c.backoff_max = 200ms;
    return c;
  }

  // True once the client's connection is on `server` (by its port) and a SET through it
  // succeeds there.
  bool write_lands_on(redis::RedisConnection& c, RedisServer& server, const std::string& key) {
    const std::string value = "v" + std::to_string(++writes_);
    std::optional<Reply> port;
    std::optional<Reply> set;
    c.command({"CONFIG", "GET", "port"}, [&](Reply r) { port = std::move(r); });
    c.command({"SET", key, value}, [&](Reply r) { set = std::move(r); });
    if (!loop_.run_until([&] { return port.has_value() && set.has_value(); })) return false;
    return port->is_array() && port->elements.size() == 2 &&
           port->elements[1] == Reply::from_string(std::to_string(server.port())) &&
           *set == Reply::from_status("OK") && server.run({"GET", key}) == value;
  }

  Loop loop_;
  obs::Logger logger_{"test", obs::Level::error, stderr};
  obs::Registry registry_;
  std::unique_ptr<RedisServer> master_;
  std::unique_ptr<RedisServer> replica_;
  std::unique_ptr<RedisServer> sentinel_;
  int writes_ = 0;
};

TEST_F(RedisSentinelTest, CommandsReachTheMasterTheSentinelNames) {
  redis::RedisConnection c(loop_.executor(), config(), logger_, registry_);
  c.start();
  ASSERT_TRUE(loop_.run_until([&] { return c.connected(); }));
  EXPECT_TRUE(write_lands_on(c, *master_, "k"));
  EXPECT_EQ(call(loop_, c, {"ROLE"}).elements.at(0), Reply::from_string("master"));
}

TEST_F(RedisSentinelTest, CommandsFollowAManualFailover) {
  redis::RedisConnection c(loop_.executor(), config(), logger_, registry_);
  c.start();
  ASSERT_TRUE(loop_.run_until([&] { return c.connected(); }));
  ASSERT_TRUE(write_lands_on(c, *master_, "before"));

  // The old master lives on and becomes a replica: the client must leave it.
  ASSERT_EQ(sentinel_->run({"SENTINEL", "FAILOVER", "mymaster"}), "OK");
  EXPECT_TRUE(poll([&] { return write_lands_on(c, *replica_, "after"); }))
      << sentinel_->log();
  EXPECT_EQ(replica_->run({"ROLE"}).substr(0, 6), "master");
  EXPECT_EQ(call(loop_, c, {"GET", "before"}), Reply::from_string("v1"));  // replicated
  EXPECT_GE(registry_.sample("tandem_redis_reconnects_total", {{"connection", "command"}}), 1);
}

TEST_F(RedisSentinelTest, CommandsFollowAFailoverAfterTheMasterDies) {
  redis::RedisConnection c(loop_.executor(), config(), logger_, registry_);
  c.start();
  ASSERT_TRUE(loop_.run_until([&] { return c.connected(); }));
  ASSERT_TRUE(write_lands_on(c, *master_, "before"));

  master_->kill();
  // Down after 500 ms, then elected and promoted: the client finds the new master itself.
  EXPECT_TRUE(poll([&] { return write_lands_on(c, *replica_, "after"); })) << sentinel_->log();
  EXPECT_TRUE(c.connected());
}

TEST_F(RedisSentinelTest, SubscriptionsMoveToTheNewMaster) {
  redis::RedisConfig sub_config = config();
  sub_config.name = "subscriber";
  redis::RedisSubscriber sub(loop_.executor(), sub_config, logger_, registry_);
  std::vector<std::string> messages;
  int confirmations = 0;
  sub.on_message([&](const std::string&, const std::string& m) { messages.push_back(m); });
  sub.on_subscribed([&](const std::string&) { ++confirmations; });
  sub.subscribe("room:c");
  sub.start();
  ASSERT_TRUE(loop_.run_until([&] { return confirmations == 1; }));
  master_->run({"PUBLISH", "room:c", "one"});
  ASSERT_TRUE(loop_.run_until([&] { return messages.size() == 1; }));

  // The old master stays up as a replica, and a subscriber left there would hear nothing
  // more: messages are published on the new master.
  ASSERT_EQ(sentinel_->run({"SENTINEL", "FAILOVER", "mymaster"}), "OK");
  ASSERT_TRUE(poll([&] { return replica_->run({"ROLE"}).starts_with("master"); }));
  EXPECT_TRUE(loop_.run_until([&] { return confirmations == 2; })) << "not re-subscribed";
  replica_->run({"PUBLISH", "room:c", "two"});
  EXPECT_TRUE(loop_.run_until([&] { return messages.size() == 2; }));
  EXPECT_EQ(messages, (std::vector<std::string>{"one", "two"}));
}

}  // namespace
}  // namespace tandem::test
