// RedisConnection against a real redis-server started by each test.
#include "redis/redis_test_util.hpp"

#include "redis/lua_script.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace tandem::test {
namespace {

using redis::Reply;

class RedisConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = std::make_unique<RedisServer>(); }

  std::unique_ptr<redis::RedisConnection> connect(redis::RedisConfig config) {
    auto c = std::make_unique<redis::RedisConnection>(loop_.executor(), std::move(config), logger_,
                                                      registry_);
    c->on_state_change([this](bool up) { states_.push_back(up); });
    c->start();
    EXPECT_TRUE(loop_.run_until([&] { return c->connected(); })) << server_->log();
    return c;
  }
  std::unique_ptr<redis::RedisConnection> connect() { return connect(config_for(*server_)); }

  double metric(const char* name) const {
    return registry_.sample(name, {{"connection", "command"}});
  }

  Loop loop_;
  obs::Logger logger_{"test", obs::Level::warn, stderr};
  obs::Registry registry_;
  std::unique_ptr<RedisServer> server_;
  std::vector<bool> states_;
};

TEST_F(RedisConnectionTest, StringsIntegersNilErrorsAndArrays) {
  auto c = connect();
  EXPECT_EQ(call(loop_, *c, {"SET", "k", std::string("v\0w", 3)}), Reply::from_status("OK"));
  EXPECT_EQ(call(loop_, *c, {"GET", "k"}), Reply::from_string(std::string("v\0w", 3)));
  EXPECT_EQ(call(loop_, *c, {"INCR", "n"}), Reply::from_integer(1));
  EXPECT_EQ(call(loop_, *c, {"INCRBY", "n", "41"}), Reply::from_integer(42));
  EXPECT_TRUE(call(loop_, *c, {"GET", "missing"}).is_nil());

  const Reply wrong = call(loop_, *c, {"INCR", "k"});
  EXPECT_TRUE(wrong.is_error());
  EXPECT_EQ(wrong.error_code(), "ERR");
  EXPECT_EQ(call(loop_, *c, {"NOSUCHCOMMAND"}).error_code(), "ERR");
  EXPECT_EQ(call(loop_, *c, {"LPUSH", "k", "x"}).error_code(), "WRONGTYPE");
  EXPECT_EQ(metric("tandem_redis_command_errors_total"), 3);

  EXPECT_EQ(call(loop_, *c, {"RPUSH", "list", "a", "b", "c"}), Reply::from_integer(3));
  EXPECT_EQ(call(loop_, *c, {"LRANGE", "list", "0", "-1"}),
            Reply::from_array(
                {Reply::from_string("a"), Reply::from_string("b"), Reply::from_string("c")}));
  EXPECT_EQ(call(loop_, *c, {"MGET", "n", "missing"}),
            Reply::from_array({Reply::from_string("42"), Reply::nil()}));
  // Nested arrays, through a script.
  EXPECT_EQ(call(loop_, *c, {"EVAL", "return {1, {2, 'x'}, {}}", "0"}),
            Reply::from_array({Reply::from_integer(1),
                               Reply::from_array({Reply::from_integer(2), Reply::from_string("x")}),
                               Reply::from_array({})}));
  EXPECT_EQ(states_, std::vector<bool>{true});
  EXPECT_EQ(metric("tandem_redis_connected"), 1);
}

TEST_F(RedisConnectionTest, CallbacksRunFromTheLoopNotInsideCommand) {
  auto c = connect();
  bool called = false;
  c->command({"PING"}, [&](Reply) { called = true; });
  EXPECT_FALSE(called);
  c.reset();  // destroyed with the PING in flight: its callback is dropped
  loop_.run_for(50ms);
  EXPECT_FALSE(called);
}

TEST_F(RedisConnectionTest, AuthWithPassword) {
  server_.reset();
  server_ = std::make_unique<RedisServer>(RedisServer::Options{.password = "s3cret"});
  auto c = connect();
  EXPECT_EQ(call(loop_, *c, {"SET", "a", "1"}), Reply::from_status("OK"));
  EXPECT_EQ(server_->run({"GET", "a"}), "1");

  // A wrong password never becomes connected; commands fail fast meanwhile.
  auto config = config_for(*server_);
  config.password = "wrong";
  config.name = "bad";
  redis::RedisConnection bad(loop_.executor(), config, logger_, registry_);
  bad.start();
  loop_.run_for(300ms);
  EXPECT_FALSE(bad.connected());
  std::optional<Reply> reply;
  bad.command({"PING"}, [&](Reply r) { reply = std::move(r); });
  ASSERT_TRUE(loop_.run_until([&] { return reply.has_value(); }));
  EXPECT_EQ(reply->error_code(), redis::kErrDisconnected);
}

TEST_F(RedisConnectionTest, SelectsTheDatabaseFromTheUrl) {
  auto c = connect(config_for(*server_, 3));
  EXPECT_EQ(call(loop_, *c, {"SET", "where", "three"}), Reply::from_status("OK"));
  EXPECT_EQ(server_->run({"GET", "where"}, 3), "three");
  EXPECT_EQ(server_->run({"GET", "where"}, 0), "(nil)");
}

TEST_F(RedisConnectionTest, PipelinedCommandsCompleteInOrder) {
  auto c = connect();
  constexpr int kCount = 2'000;
  std::vector<std::int64_t> seen;
  for (int i = 0; i < kCount; ++i) {
    c->command({"INCR", "counter"}, [&](Reply r) { seen.push_back(r.integer); });
  }
  EXPECT_EQ(c->pending(), static_cast<std::size_t>(kCount));
  ASSERT_TRUE(loop_.run_until([&] { return seen.size() == kCount; }));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(seen[i], i + 1);
  EXPECT_EQ(c->pending(), 0u);
}

TEST_F(RedisConnectionTest, CommandsFailFastWhileRedisIsDown) {
  server_->stop();
  redis::RedisConnection c(loop_.executor(), config_for(*server_), logger_, registry_);
  c.start();
  loop_.run_for(100ms);
  EXPECT_FALSE(c.connected());
  std::optional<Reply> reply;
  c.command({"GET", "x"}, [&](Reply r) { reply = std::move(r); });
  // Failed at once: answered by the handlers ready now, without waiting for a timer or a
  // reconnect attempt (poll() runs only those).
  loop_.io.poll();
  ASSERT_TRUE(reply.has_value()) << "the command waited instead of failing fast";
  EXPECT_EQ(reply->error_code(), redis::kErrDisconnected);
  EXPECT_EQ(metric("tandem_redis_command_errors_total"), 1);

  // It connects by itself once Redis is there.
  server_->start();
  EXPECT_TRUE(loop_.run_until([&] { return c.connected(); }));
  EXPECT_EQ(call(loop_, c, {"PING"}), Reply::from_status("PONG"));
  EXPECT_EQ(metric("tandem_redis_reconnects_total"), 0);  // the first connection
}

TEST_F(RedisConnectionTest, ReconnectsAfterRedisIsKilledAndRestarted) {
  auto c = connect();
  EXPECT_EQ(call(loop_, *c, {"SET", "k", "v"}), Reply::from_status("OK"));

  // A command blocked in Redis when it dies gets CONNECTION_LOST.
  std::optional<Reply> blocked;
  c->command({"BLPOP", "never", "0"}, [&](Reply r) { blocked = std::move(r); });
  ASSERT_TRUE(loop_.run_until([&] {
    return server_->run({"INFO", "clients"}).find("blocked_clients:1") != std::string::npos;
  })) << "the BLPOP never reached Redis";
  server_->kill();
  ASSERT_TRUE(loop_.run_until([&] { return !c->connected(); }));
  ASSERT_TRUE(loop_.run_until([&] { return blocked.has_value(); }));
  EXPECT_EQ(blocked->error_code(), redis::kErrConnectionLost);
  ASSERT_TRUE(loop_.run_until([&] { return states_.size() == 2; }));
  EXPECT_EQ(states_, (std::vector<bool>{true, false}));
  EXPECT_EQ(metric("tandem_redis_connected"), 0);
  EXPECT_EQ(call(loop_, *c, {"GET", "k"}).error_code(), redis::kErrDisconnected);

  server_->start();
  ASSERT_TRUE(loop_.run_until([&] { return states_.size() == 3; }));
  EXPECT_EQ(states_, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(c->connected());
  EXPECT_TRUE(call(loop_, *c, {"GET", "k"}).is_nil());  // no persistence: a fresh Redis
  EXPECT_EQ(call(loop_, *c, {"SET", "k", "again"}), Reply::from_status("OK"));
  EXPECT_EQ(metric("tandem_redis_reconnects_total"), 1);
  EXPECT_EQ(metric("tandem_redis_connected"), 1);

  // Twice more, with a clean stop this time.
  server_->stop();
  ASSERT_TRUE(loop_.run_until([&] { return !c->connected(); }));
  server_->start();
  ASSERT_TRUE(loop_.run_until([&] { return c->connected(); }));
  EXPECT_EQ(call(loop_, *c, {"PING"}), Reply::from_status("PONG"));
  EXPECT_EQ(metric("tandem_redis_reconnects_total"), 2);
}

TEST_F(RedisConnectionTest, AStalledRedisEndsTheConnectionAfterTheCommandTimeout) {
  redis::RedisConfig config = config_for(*server_);
  config.command_timeout = 300ms;
  config.connect_timeout = 300ms;
  redis::RedisConnection c(loop_.executor(), config, logger_, registry_);
  c.start();
  ASSERT_TRUE(loop_.run_until([&] { return c.connected(); }));
  server_->pause();  // its sockets stay open; it just never answers
  std::optional<Reply> reply;
  c.command({"GET", "x"}, [&](Reply r) { reply = std::move(r); });
  // Without the deadline this would wait forever (hiredis has none).
  ASSERT_TRUE(loop_.run_until([&] { return reply.has_value(); }, 5s));
  EXPECT_EQ(reply->error_code(), redis::kErrConnectionLost);
  EXPECT_FALSE(c.connected());
  server_->resume();
  ASSERT_TRUE(loop_.run_until([&] { return c.connected(); }));
  EXPECT_EQ(call(loop_, c, {"PING"}), Reply::from_status("PONG"));
}

TEST_F(RedisConnectionTest, ReconnectsAfterTheServerClosesTheConnection) {
  auto c = connect();
  EXPECT_EQ(call(loop_, *c, {"CLIENT", "SETNAME", "victim"}), Reply::from_status("OK"));
  server_->run({"CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal"});
  ASSERT_TRUE(loop_.run_until([&] { return states_.size() >= 3; }));
  EXPECT_EQ(states_, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(call(loop_, *c, {"PING"}), Reply::from_status("PONG"));
}

TEST_F(RedisConnectionTest, EvalShaFallsBackToEvalOnNoscript) {
  auto c = connect();
  const redis::LuaScript script(
      "local v = redis.call('INCRBY', KEYS[1], ARGV[1]); return {v, ARGV[2]}");
  EXPECT_EQ(server_->run({"SCRIPT", "LOAD", script.source()}), script.sha1());
  server_->run({"SCRIPT", "FLUSH"});

  auto eval = [&](const std::string& by, const std::string& tag) {
    std::optional<Reply> reply;
    c->eval_sha(script, {"x"}, {by, tag}, [&](Reply r) { reply = std::move(r); });
    EXPECT_TRUE(loop_.run_until([&] { return reply.has_value(); }));
    return reply.value_or(Reply::from_error("TEST no reply"));
  };
  auto exists = [&] { return server_->run({"SCRIPT", "EXISTS", script.sha1()}); };

  EXPECT_EQ(exists(), "0");
  EXPECT_EQ(eval("5", "a"), Reply::from_array({Reply::from_integer(5), Reply::from_string("a")}));
  EXPECT_EQ(exists(), "1");  // loaded by the EVAL fallback
  EXPECT_EQ(eval("2", "b"), Reply::from_array({Reply::from_integer(7), Reply::from_string("b")}));
  EXPECT_EQ(metric("tandem_redis_command_errors_total"), 0);  // NOSCRIPT is not an error

  // A restart empties the script cache; the fallback loads it again.
  server_->stop();
  server_->start();
  ASSERT_TRUE(loop_.run_until([&] { return states_.size() == 3; }));
  EXPECT_EQ(exists(), "0");
  EXPECT_EQ(eval("3", "c"), Reply::from_array({Reply::from_integer(3), Reply::from_string("c")}));
  EXPECT_EQ(exists(), "1");

  // Script errors come back as errors.
  const redis::LuaScript broken("return redis.call('INCR')");
  std::optional<Reply> reply;
  c->eval_sha(broken, {}, {}, [&](Reply r) { reply = std::move(r); });
  ASSERT_TRUE(loop_.run_until([&] { return reply.has_value(); }));
  EXPECT_TRUE(reply->is_error());
  EXPECT_NE(reply->error_code(), "NOSCRIPT");
}

TEST_F(RedisConnectionTest, PendingCommandsAreBounded) {
  auto config = config_for(*server_);
  config.max_pending = 5;
  auto c = connect(config);
  std::vector<Reply> replies;
  for (int i = 0; i < 8; ++i) {
    c->command({"INCR", "n"}, [&](Reply r) { replies.push_back(std::move(r)); });
  }
  EXPECT_EQ(c->pending(), 5u);
  ASSERT_TRUE(loop_.run_until([&] { return replies.size() == 8; }));
  int ok = 0;
  int overloaded = 0;
  for (const auto& r : replies) {
    if (r.is_integer()) ++ok;
    if (r.error_code() == redis::kErrOverloaded) ++overloaded;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(overloaded, 3);
  // The bound frees up as replies arrive.
  EXPECT_EQ(call(loop_, *c, {"GET", "n"}), Reply::from_string("5"));
}

TEST_F(RedisConnectionTest, DestroyedWithCommandsInFlightCallsNothingAndLeaksNothing) {
  int called = 0;
  int called_before = 0;
  {
    auto c = connect();
    for (int i = 0; i < 500; ++i) {
      c->command({"SET", std::string("k").append(std::to_string(i)), std::string(1'000, 'x')},
                 [&](Reply) { ++called; });
    }
    c->eval_sha(redis::LuaScript("return 1"), {}, {}, [&](Reply) { ++called; });
    c->command({"BLPOP", "never", "0"}, [&](Reply) { ++called; });  // never answered
    // Until the first replies are delivered: others may be answered and not yet
    // delivered, or not even sent.
    ASSERT_TRUE(loop_.run_until([&] { return called > 0; }));
    EXPECT_GT(c->pending(), 0u);
    called_before = called;
  }
  loop_.run_for(100ms);
  EXPECT_EQ(called, called_before);
  called = 0;

  // Destroyed while connecting and while waiting to reconnect.
  {
    redis::RedisConnection connecting(loop_.executor(), config_for(*server_), logger_, registry_);
    connecting.start();
  }
  server_->stop();
  {
    redis::RedisConnection waiting(loop_.executor(), config_for(*server_), logger_, registry_);
    waiting.on_state_change([&](bool) { ++called; });
    waiting.start();
    loop_.run_for(50ms);
  }
  loop_.run_for(50ms);
  EXPECT_EQ(called, 0);
}

TEST_F(RedisConnectionTest, ResolvesHostNames) {
  auto config = config_for(*server_);
  config.host = "localhost";
  auto c = std::make_unique<redis::RedisConnection>(loop_.executor(), config, logger_, registry_);
  c->start();
  // The client connects to the first address the name resolves to. Redis listens on
  // 127.0.0.1 only: where localhost resolves to ::1 first, the client keeps retrying.
  asio::ip::tcp::resolver resolver(loop_.io);
  const auto first =
      resolver.resolve("localhost", std::to_string(server_->port())).begin()->endpoint();
  if (first.address() == asio::ip::make_address("127.0.0.1")) {
    ASSERT_TRUE(loop_.run_until([&] { return c->connected(); }));
    EXPECT_EQ(call(loop_, *c, {"PING"}), Reply::from_status("PONG"));
  } else {
    loop_.run_for(500ms);  // what "never connects" means, with retries in between
    EXPECT_FALSE(c->connected()) << "localhost resolved first to " << first.address().to_string();
  }
}

}  // namespace
}  // namespace tandem::test
