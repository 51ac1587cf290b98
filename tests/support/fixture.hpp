#pragma once
// The base of every end-to-end test: starts servers, connects clients, reads /status and
// /metrics, and prints each server's log when the test failed.
#include "support/failure.hpp"
#include "support/http_client.hpp"
#include "support/messages.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <vector>

namespace tandem::test {

using Labels = std::map<std::string, std::string>;

// The value of one sample of a Prometheus text exposition: `name` with exactly `labels`.
std::optional<double> metric_value(const std::string& exposition, std::string_view name,
                                   const Labels& labels = {});

// Sends JOIN and returns the ROOM_STATE that must answer it (strict: nothing else first).
json::object join(WsClient& client, std::string_view room_id, std::string_view user_id,
                  std::optional<std::string> username = std::nullopt,
                  std::optional<std::string> pin = std::nullopt,
                  std::source_location where = std::source_location::current());

// Polls `condition` (every 10 ms) until it holds or `timeout` passes; returns its last value.
// Only for state that can be observed by asking (HTTP /status, /metrics), not by an event.
bool eventually(const std::function<bool()>& condition, Millis timeout = kTimeout);

// Runs fn(0..n-1) on n threads, all released at once; failures in threads (including the
// harness's HarnessAbort) are reported in the calling test's thread.
void run_parallel(int n, const std::function<void(int)>& fn);

class RedisServer;

class TandemTest : public ::testing::Test {
 public:
  TandemTest();
  ~TandemTest() override;

 protected:
  // Stops every server still running with SIGTERM and requires of each: exit status 0
  // (unless the test killed it with another signal), nothing on stderr (a sanitizer
  // report, LeakSanitizer's included, which only runs at a clean exit), and no log line at
  // level "error" but those the test expects (expect_error_log). Then prints every
  // server's log if the test failed.
  void TearDown() override;

  // Starts a server (it becomes server() if it is the first) and waits until it listens.
  ServerProcess& start_server(const Env& env = {}, std::vector<std::string> args = {},
                              std::source_location where = std::source_location::current()) {
    return start_server_with(env, std::move(args), {}, where);
  }
  // The same with process options (a descriptor limit).
  ServerProcess& start_server_with(const Env& env, std::vector<std::string> args,
                                   ProcessOptions options,
                                   std::source_location where = std::source_location::current());
  ServerProcess& server(std::size_t index = 0);
  std::uint16_t port(std::size_t index = 0) { return server(index).port(); }

  // A connected client (the handshake must succeed).
  std::unique_ptr<WsClient> connect(std::string name, std::size_t server_index = 0,
                                    std::source_location where = std::source_location::current());
  // The same from a chosen loopback address (127.0.0.2, ...): the server sees a distinct
  // client address (per-address limits).
  std::unique_ptr<WsClient> connect_from(std::string name, std::string local_address,
                                         std::size_t server_index = 0,
                                         std::source_location where = std::source_location::current());
  // A connected client (on server(server_index)) that has joined `room_id` as `user_id`
  // (its ROOM_STATE consumed and kept in *room_state when given).
  std::unique_ptr<WsClient> joined_on(std::size_t server_index, std::string_view room_id,
                                      std::string_view user_id,
                                      std::optional<std::string> username = std::nullopt,
                                      std::optional<std::string> pin = std::nullopt,
                                      json::object* room_state = nullptr,
                                      std::source_location where = std::source_location::current());
  std::unique_ptr<WsClient> joined(std::string_view room_id, std::string_view user_id,
                                   std::optional<std::string> username = std::nullopt,
                                   std::optional<std::string> pin = std::nullopt,
                                   json::object* room_state = nullptr,
                                   std::source_location where = std::source_location::current());

  // GET /status[?roomId=] (of server(server_index)) as an object.
  json::object status(std::optional<std::string> room_id = std::nullopt,
                      std::source_location where = std::source_location::current()) {
    return status_of(0, std::move(room_id), where);
  }
  json::object status_of(std::size_t server_index, std::optional<std::string> room_id,
                         std::source_location where = std::source_location::current());
  // The single room of GET /status?roomId=room_id (fails if it is not listed exactly once).
  json::object room_status(const std::string& room_id,
                           std::source_location where = std::source_location::current());
  // The user entry of room_status(room_id).users for user_id (fails if absent).
  json::object user_status(const std::string& room_id, const std::string& user_id,
                           std::source_location where = std::source_location::current());
  std::string metrics_text(std::source_location where = std::source_location::current()) {
    return metrics_text_of(0, where);
  }
  std::string metrics_text_of(std::size_t server_index,
                              std::source_location where = std::source_location::current());
  // A sample of /metrics; fails if it is not exposed.
  double metric(std::string_view name, const Labels& labels = {},
                std::source_location where = std::source_location::current()) {
    return metric_of(0, name, labels, where);
  }
  double metric_of(std::size_t server_index, std::string_view name, const Labels& labels = {},
                   std::source_location where = std::source_location::current());

  // The server survived whatever the test did: the process runs, nothing was printed on
  // stderr (sanitizer reports) or logged at level "error", /health answers, and a fresh
  // client can join a fresh room.
  void expect_server_healthy(std::source_location where = std::source_location::current()) {
    expect_server_healthy_at(0, where);
  }
  void expect_server_healthy_at(std::size_t index,
                                std::source_location where = std::source_location::current());

  // Log lines at level "error" with this "msg" are what the test provokes: the teardown
  // accepts them (from every server of the test).
  void expect_error_log(std::string msg) { expected_errors_.push_back(std::move(msg)); }

  // Proves the connection is open and served: PING must get PONG (strict).
  void expect_alive(WsClient& client, std::source_location where = std::source_location::current());

 private:
  std::vector<std::unique_ptr<ServerProcess>> servers_;
  // With TANDEM_TEST_CLUSTER=1 in the environment, every server this fixture starts is a
  // cluster node on this fixture's own redis-server (the standalone suite run in cluster
  // mode).
  std::unique_ptr<RedisServer> cluster_redis_;
  std::vector<std::string> expected_errors_;
};

}  // namespace tandem::test
