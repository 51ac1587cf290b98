// RedisWriteCheck: a write's failed reply is counted, and logged unless Redis was simply down.
#include "cluster/redis_write_check.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace tandem::cluster {
namespace {

class RedisWriteCheckTest : public ::testing::Test {
 protected:
  std::string logged() {
    std::fflush(log_);
    std::rewind(log_);
    std::string out;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, log_) != nullptr) out += buffer;
    return out;
  }
  ~RedisWriteCheckTest() override { std::fclose(log_); }

  std::FILE* log_ = std::tmpfile();
  obs::Registry registry_;
  obs::Logger logger_{"n1", obs::Level::debug, log_};
  RedisWriteCheck writes_{registry_, logger_};
};

TEST_F(RedisWriteCheckTest, SuccessfulRepliesCountNothing) {
  writes_.expect("room_index_add", "r1")(redis::Reply::from_integer(1));
  writes_.expect("room_publish", "r1")(redis::Reply::from_integer(0));
  writes_.expect("node_refresh", "n1")(redis::Reply::nil());
  EXPECT_EQ(registry_.sample("tandem_cluster_redis_write_failures_total"), 0);
  EXPECT_EQ(logged(), "");
}

TEST_F(RedisWriteCheckTest, AnErrorIsCountedAndLoggedWithWhatAndKey) {
  writes_.expect("room_index_add", "r1")(
      redis::Reply::from_error("WRONGTYPE Operation against a key holding the wrong kind of value"));
  EXPECT_EQ(registry_.sample("tandem_cluster_redis_write_failures_total"), 1);
  const std::string log = logged();
  EXPECT_NE(log.find("redis_write_failed"), std::string::npos) << log;
  EXPECT_NE(log.find("room_index_add"), std::string::npos) << log;
  EXPECT_NE(log.find("WRONGTYPE"), std::string::npos) << log;
}

TEST_F(RedisWriteCheckTest, ADisconnectedWriteIsCountedButNotLogged) {
  writes_.expect("room_publish", "r1")(redis::Reply::from_error("DISCONNECTED not connected"));
  EXPECT_EQ(registry_.sample("tandem_cluster_redis_write_failures_total"), 1);
  EXPECT_EQ(logged(), "");
}

}  // namespace
}  // namespace tandem::cluster
