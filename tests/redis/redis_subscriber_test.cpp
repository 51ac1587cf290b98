// RedisSubscriber against a real redis-server started by each test.
#include "redis/redis_test_util.hpp"

#include "redis/redis_subscriber.hpp"

#include <memory>
#include <utility>

namespace tandem::test {
namespace {

using Message = std::pair<std::string, std::string>;

class RedisSubscriberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RedisServer>();
    publisher_ = std::make_unique<redis::RedisConnection>(loop_.executor(), config_for(*server_),
                                                          logger_, registry_);
    publisher_->start();
    subscriber_ = std::make_unique<redis::RedisSubscriber>(loop_.executor(), config_for(*server_),
                                                           logger_, registry_);
    subscriber_->on_message([this](const std::string& channel, const std::string& message) {
      messages_.emplace_back(channel, message);
    });
    subscriber_->on_subscribed(
        [this](const std::string& channel) { confirmed_.push_back(channel); });
    subscriber_->on_state_change([this](bool up) { states_.push_back(up); });
  }

  void publish(const std::string& channel, const std::string& message) {
    ASSERT_TRUE(loop_.run_until([&] { return publisher_->connected(); }));
    call(loop_, *publisher_, {"PUBLISH", channel, message});
  }

  // Waits for `count` confirmations in total.
  bool confirmed(std::size_t count) {
    return loop_.run_until([&] { return confirmed_.size() >= count; });
  }

  Loop loop_;
  obs::Logger logger_{"test", obs::Level::warn, stderr};
  obs::Registry registry_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<redis::RedisConnection> publisher_;
  std::unique_ptr<redis::RedisSubscriber> subscriber_;
  std::vector<Message> messages_;
  std::vector<std::string> confirmed_;
  std::vector<bool> states_;
};

TEST_F(RedisSubscriberTest, ReceivesPublishedMessages) {
  subscriber_->subscribe("a");  // before start: tracked, sent once connected
  subscriber_->start();
  ASSERT_TRUE(confirmed(1));
  subscriber_->subscribe("b");
  ASSERT_TRUE(confirmed(2));
  EXPECT_EQ(confirmed_, (std::vector<std::string>{"a", "b"}));

  publish("a", "one");
  publish("b", std::string("two\0bytes", 9));
  publish("c", "not subscribed");
  publish("a", "three");
  ASSERT_TRUE(loop_.run_until([&] { return messages_.size() == 3; }));
  EXPECT_EQ(messages_, (std::vector<Message>{
                           {"a", "one"}, {"b", std::string("two\0bytes", 9)}, {"a", "three"}}));
  EXPECT_EQ(server_->run({"PUBSUB", "NUMSUB", "a", "b", "c"}), "a,1,b,1,c,0");
}

TEST_F(RedisSubscriberTest, UnsubscribeStopsDeliveryAndNeverEmptiesTheConnection) {
  subscriber_->start();
  subscriber_->subscribe("a");
  subscriber_->subscribe("b");
  ASSERT_TRUE(confirmed(2));
  subscriber_->unsubscribe("a");
  publish("a", "dropped");
  publish("b", "kept");
  ASSERT_TRUE(loop_.run_until([&] { return !messages_.empty(); }));
  loop_.run_for(20ms);
  EXPECT_EQ(messages_, (std::vector<Message>{{"b", "kept"}}));
  EXPECT_EQ(server_->run({"PUBSUB", "NUMSUB", "a"}), "a,0");

  // The last channel lingers on the server but is filtered; the next subscribe drops it.
  subscriber_->unsubscribe("b");
  EXPECT_TRUE(subscriber_->channels().empty());
  publish("b", "filtered");
  subscriber_->subscribe("b");  // back again: active at once
  subscriber_->subscribe("c");
  ASSERT_TRUE(confirmed(4));
  subscriber_->unsubscribe("b");
  subscriber_->subscribe("d");
  ASSERT_TRUE(confirmed(5));
  publish("b", "dropped again");
  publish("c", "c1");
  publish("d", "d1");
  ASSERT_TRUE(loop_.run_until([&] { return messages_.size() == 3; }));
  EXPECT_EQ(messages_, (std::vector<Message>{{"b", "kept"}, {"c", "c1"}, {"d", "d1"}}));
  EXPECT_EQ(server_->run({"PUBSUB", "NUMSUB", "b", "c", "d"}), "b,0,c,1,d,1");
}

TEST_F(RedisSubscriberTest, ResubscribesAfterRedisRestarts) {
  subscriber_->subscribe("room:1");
  subscriber_->subscribe("room:2");
  subscriber_->start();
  ASSERT_TRUE(confirmed(2));
  publish("room:1", "before");
  ASSERT_TRUE(loop_.run_until([&] { return messages_.size() == 1; }));

  server_->kill();
  ASSERT_TRUE(loop_.run_until([&] { return states_.size() == 2; }));
  EXPECT_FALSE(subscriber_->connected());
  // While down: the tracked set changes, nothing is sent.
  subscriber_->unsubscribe("room:2");
  subscriber_->subscribe("room:3");

  server_->start();
  ASSERT_TRUE(confirmed(4)) << "re-subscribed by itself";
  EXPECT_EQ(states_, (std::vector<bool>{true, false, true}));
  EXPECT_EQ((std::vector<std::string>(confirmed_.begin() + 2, confirmed_.end())),
            (std::vector<std::string>{"room:1", "room:3"}));
  publish("room:1", "after");
  publish("room:2", "gone");
  publish("room:3", "new");
  ASSERT_TRUE(loop_.run_until([&] { return messages_.size() == 3; }));
  EXPECT_EQ(messages_,
            (std::vector<Message>{{"room:1", "before"}, {"room:1", "after"}, {"room:3", "new"}}));
  EXPECT_EQ(registry_.sample("tandem_redis_reconnects_total", {{"connection", "subscriber"}}), 1);

  // And once more, with a clean stop.
  server_->stop();
  server_->start();
  ASSERT_TRUE(confirmed(6));
  publish("room:3", "again");
  ASSERT_TRUE(loop_.run_until([&] { return messages_.size() == 4; }));
  EXPECT_EQ(messages_.back(), (Message{"room:3", "again"}));
}

TEST_F(RedisSubscriberTest, SubscribesWithAPassword) {
  subscriber_.reset();
  publisher_.reset();
  server_ = std::make_unique<RedisServer>(RedisServer::Options{.password = "pw"});
  publisher_ = std::make_unique<redis::RedisConnection>(loop_.executor(), config_for(*server_),
                                                        logger_, registry_);
  publisher_->start();
  redis::RedisSubscriber sub(loop_.executor(), config_for(*server_), logger_, registry_);
  std::vector<Message> got;
  bool active = false;
  sub.on_message([&](const std::string& c, const std::string& m) { got.emplace_back(c, m); });
  sub.on_subscribed([&](const std::string&) { active = true; });
  sub.subscribe("x");
  sub.start();
  ASSERT_TRUE(loop_.run_until([&] { return active; }));
  publish("x", "hello");
  ASSERT_TRUE(loop_.run_until([&] { return got.size() == 1; }));
  EXPECT_EQ(got[0], (Message{"x", "hello"}));
}

TEST_F(RedisSubscriberTest, DestroyedWhileMessagesArriveCallsNothing) {
  subscriber_->subscribe("busy");
  subscriber_->start();
  ASSERT_TRUE(confirmed(1));
  for (int i = 0; i < 200; ++i) {
    publisher_->command({"PUBLISH", "busy", std::to_string(i)}, [](redis::Reply) {});
  }
  loop_.run_until([&] { return !messages_.empty(); });
  subscriber_.reset();
  const auto seen = messages_.size();
  loop_.run_until([&] { return publisher_->pending() == 0; });
  loop_.run_for(50ms);
  EXPECT_EQ(messages_.size(), seen);
}

}  // namespace
}  // namespace tandem::test
