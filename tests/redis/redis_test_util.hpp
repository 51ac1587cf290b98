#pragma once
// Shared by the redis tests: an io_context run in slices until a condition holds (a
// deadline, no fixed sleeps), and a connection config for a RedisServer.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "redis/redis_config.hpp"
#include "redis/redis_connection.hpp"
#include "redis/redis_server.hpp"
#include "redis/reply.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tandem::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class Loop {
 public:
  // Runs the loop until `done()` or the timeout; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io.run_for(5ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds duration) { io.run_for(duration); }
  asio::any_io_executor executor() { return io.get_executor(); }

  asio::io_context io;

 private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io.get_executor()};
};

inline redis::RedisConfig config_for(const RedisServer& server, int db = 0) {
  std::string error;
  auto config = redis::parse_redis_url(server.url(db), &error);
  EXPECT_TRUE(config) << error;
  redis::RedisConfig out = config.value_or(redis::RedisConfig{});
  out.backoff_initial = 20ms;  // quick reconnects keep the tests short
  out.backoff_max = 200ms;
  return out;
}

// Sends one command and runs the loop until its reply arrives.
inline redis::Reply call(Loop& loop, redis::RedisConnection& connection,
                         const std::vector<std::string>& args) {
  std::optional<redis::Reply> reply;
  connection.command(args, [&](redis::Reply r) { reply = std::move(r); });
  EXPECT_TRUE(loop.run_until([&] { return reply.has_value(); })) << "no reply to " << args[0];
  return reply.value_or(redis::Reply::from_error("TEST no reply"));
}

}  // namespace tandem::test
