#include "support/fixture.hpp"

#include "redis/redis_server.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <csignal>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <latch>
#include <mutex>
#include <sstream>
#include <thread>

namespace tandem::test {

std::optional<double> metric_value(const std::string& exposition, std::string_view name,
                                   const Labels& labels) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    std::size_t pos = name.size();
    Labels found;
    if (pos < line.size() && line[pos] == '{') {
      const std::size_t end = line.find('}', pos);
      if (end == std::string::npos) continue;
      std::string body = line.substr(pos + 1, end - pos - 1);
      std::size_t i = 0;
      bool ok = true;
      while (i < body.size()) {
        const std::size_t eq = body.find('=', i);
        if (eq == std::string::npos || eq + 1 >= body.size() || body[eq + 1] != '"') {
          ok = false;
          break;
        }
        const std::size_t close = body.find('"', eq + 2);
        if (close == std::string::npos) {
          ok = false;
          break;
        }
        found[body.substr(i, eq - i)] = body.substr(eq + 2, close - eq - 2);
        i = close + 1;
        if (i < body.size() && body[i] == ',') ++i;
      }
      if (!ok) continue;
      pos = end + 1;
    }
    if (pos >= line.size() || line[pos] != ' ') continue;  // a longer name with this prefix
    if (found != labels) continue;
    return std::strtod(line.c_str() + pos + 1, nullptr);
  }
  return std::nullopt;
}

bool eventually(const std::function<bool()>& condition, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(10));
  }
}

json::object join(WsClient& client, std::string_view room_id, std::string_view user_id,
                  std::optional<std::string> username, std::optional<std::string> pin,
                  std::source_location where) {
  client.send_json(msg::join(room_id, user_id, std::move(username), std::move(pin)), where);
  return client.expect("ROOM_STATE", kTimeout, {}, where);
}

void run_parallel(int n, const std::function<void(int)>& fn) {
  std::latch start(n);
  std::mutex mutex;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        fn(i);
      } catch (const std::exception& e) {
        const std::lock_guard lock(mutex);
        errors.push_back("thread " + std::to_string(i) + ": " + e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ADD_FAILURE() << e;
}

TandemTest::TandemTest() = default;
TandemTest::~TandemTest() = default;

void TandemTest::TearDown() {
  // Every server drains at once (Redis stays up until the fixture is destroyed), and the
  // clients the test still holds answer their servers' close frames, so a drain ends as
  // soon as its connections do instead of at its timeout (10 s by default).
  constexpr Millis kStopTimeout{30'000};
  for (const auto& s : servers_) {
    if (s->running()) s->signal(SIGTERM);
  }
  WsClient::read_until_closed_all(Millis(5'000));
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    ServerProcess& s = *servers_[i];
    const std::string who = "server " + std::to_string(i) + " (" + s.node_id() + ")";
    const std::optional<ExitStatus> status = s.wait_exit(kStopTimeout);
    if (!status) {
      ADD_FAILURE() << who << " did not exit within 30 s of SIGTERM";
      continue;
    }
    const bool killed_by_test = !status->exited && status->signal != SIGTERM &&
                                s.was_signalled(status->signal);
    if (!killed_by_test && !(status->exited && status->code == 0)) {
      ADD_FAILURE() << who << " " << status->describe() << " (expected exit status 0)";
    }
    for (const std::string& line : s.stderr_lines()) {
      ADD_FAILURE() << who << " printed on stderr: " << line;
      break;
    }
    for (const LogLine& line : s.lines()) {
      const json::value* level = line.json ? line.json->if_contains("level") : nullptr;
      if (level == nullptr || !level->is_string() || level->get_string() != "error") continue;
      const json::value* msg_value = line.json->if_contains("msg");
      const std::string msg = msg_value != nullptr && msg_value->is_string()
                                  ? std::string(msg_value->get_string())
                                  : std::string();
      if (std::find(expected_errors_.begin(), expected_errors_.end(), msg) == expected_errors_.end()) {
        ADD_FAILURE() << who << " logged an error the test did not expect: " << line.text;
      }
    }
  }
  if (!HasFailure()) return;
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    std::cerr << "----- log of server " << i << " (" << servers_[i]->node_id() << ", pid "
              << servers_[i]->pid() << ") -----\n"
              << servers_[i]->output() << "----- end of log -----\n";
  }
}

ServerProcess& TandemTest::start_server_with(const Env& env, std::vector<std::string> args,
                                             ProcessOptions options, std::source_location where) {
  const char* cluster = std::getenv("TANDEM_TEST_CLUSTER");
  if (cluster != nullptr && std::string_view(cluster) == "1" && !env.contains("REDIS_URL")) {
    if (!cluster_redis_) {
      cluster_redis_ = std::make_unique<RedisServer>();
      cluster_redis_->start();
    }
    Env with_redis = env;
    with_redis["REDIS_URL"] = cluster_redis_->url();
    servers_.push_back(tandem::test::start_server(with_redis, std::move(args), options, where));
    return *servers_.back();
  }
  servers_.push_back(tandem::test::start_server(env, std::move(args), options, where));
  return *servers_.back();
}

ServerProcess& TandemTest::server(std::size_t index) {
  if (index >= servers_.size()) {
    fail_at(std::source_location::current(), "no server #" + std::to_string(index));
  }
  return *servers_[index];
}

std::unique_ptr<WsClient> TandemTest::connect(std::string name, std::size_t server_index,
                                              std::source_location where) {
  return connect_from(std::move(name), "", server_index, where);
}

std::unique_ptr<WsClient> TandemTest::connect_from(std::string name, std::string local_address,
                                                   std::size_t server_index,
                                                   std::source_location where) {
  auto client = std::make_unique<WsClient>(std::move(name));
  ConnectOptions options;
  options.local_address = std::move(local_address);
  const ConnectResult result = client->connect(server(server_index).port(), std::move(options));
  if (!result.ok) {
    fail_at(where, "[" + client->name() + "] WebSocket connect failed: " + result.error +
                       " (HTTP " + std::to_string(result.http_status) + ") " + result.body);
  }
  return client;
}

std::unique_ptr<WsClient> TandemTest::joined(std::string_view room_id, std::string_view user_id,
                                             std::optional<std::string> username,
                                             std::optional<std::string> pin,
                                             json::object* room_state, std::source_location where) {
  return joined_on(0, room_id, user_id, std::move(username), std::move(pin), room_state, where);
}

std::unique_ptr<WsClient> TandemTest::joined_on(std::size_t server_index, std::string_view room_id,
                                                std::string_view user_id,
                                                std::optional<std::string> username,
                                                std::optional<std::string> pin,
                                                json::object* room_state,
                                                std::source_location where) {
  auto client = connect(std::string(user_id), server_index, where);
  auto state = join(*client, room_id, user_id, std::move(username), std::move(pin), where);
  if (room_state != nullptr) *room_state = std::move(state);
  return client;
}

json::object TandemTest::status_of(std::size_t server_index, std::optional<std::string> room_id,
                                   std::source_location where) {
  const std::string target = room_id ? "/status?roomId=" + *room_id : "/status";
  const HttpResponse res = http_get(port(server_index), target, {}, kTimeout, where);
  if (res.status != 200) fail_at(where, "GET " + target + ": " + res.describe());
  return res.json_object(where);
}

json::object TandemTest::room_status(const std::string& room_id, std::source_location where) {
  const json::object body = status(room_id, where);
  const json::array& rooms = arr(body, "rooms");
  if (rooms.size() != 1 || !rooms[0].is_object()) {
    fail_at(where, "expected room " + room_id + " once in /status, got " + json::serialize(body));
  }
  return rooms[0].get_object();
}

json::object TandemTest::user_status(const std::string& room_id, const std::string& user_id,
                                     std::source_location where) {
  const json::object room = room_status(room_id, where);
  for (const auto& user : arr(room, "users")) {
    if (user.is_object() && str(user.get_object(), "userId") == user_id) return user.get_object();
  }
  fail_at(where, "user " + user_id + " is not listed in " + json::serialize(room));
}

std::string TandemTest::metrics_text_of(std::size_t server_index, std::source_location where) {
  const HttpResponse res = http_get(port(server_index), "/metrics", {}, kTimeout, where);
  if (res.status != 200) fail_at(where, "GET /metrics: " + res.describe());
  return res.body;
}

double TandemTest::metric_of(std::size_t server_index, std::string_view name, const Labels& labels,
                             std::source_location where) {
  const std::string text = metrics_text_of(server_index, where);
  const auto value = metric_value(text, name, labels);
  if (!value) {
    std::string wanted(name);
    for (const auto& [k, v] : labels) wanted += " " + k + "=" + v;
    fail_at(where, "/metrics has no sample " + wanted + "; it has:\n" + text);
  }
  return *value;
}

void TandemTest::expect_server_healthy_at(std::size_t index, std::source_location where) {
  ServerProcess& s = server(index);
  if (!s.running()) fail_at(where, "the server is not running any more:\n" + s.output());
  const auto err = s.stderr_lines();
  if (!err.empty()) fail_at(where, "the server printed on stderr:\n" + s.output());
  for (const auto& line : s.lines()) {
    if (line.json && str(*line.json, "level") == "error") {
      fail_at(where, "the server logged an error: " + line.text);
    }
  }
  const HttpResponse health = http_get(s.port(), "/health", {}, kTimeout, where);
  if (health.status != 200) fail_at(where, "/health: " + health.describe());
  static int fresh = 0;
  const std::string room = "healthcheck-" + std::to_string(++fresh);
  auto client = connect("healthcheck", index, where);
  const json::object state = join(*client, room, "healthcheck", std::nullopt, std::nullopt, where);
  if (str(state, "hostUserId") != "healthcheck") {
    fail_at(where, "a fresh room did not make its joiner host: " + json::serialize(state));
  }
  expect_alive(*client, where);
}

void TandemTest::expect_alive(WsClient& client, std::source_location where) {
  const std::int64_t stamp = now_ms();
  client.send_json(msg::ping(stamp), where);
  const json::object pong = client.expect("PONG", kTimeout, {}, where);
  if (!has(pong, "timestamp")) fail_at(where, "PONG without timestamp: " + json::serialize(pong));
}

}  // namespace tandem::test
