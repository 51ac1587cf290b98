// Configuration: invalid values and unknown flags stop the process with one clear line on
// stderr; flags override the environment; --help and --config-schema.
#include "support/fixture.hpp"

#include <boost/json/parse.hpp>

#include <atomic>
#include <thread>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class ConfigTest : public TandemTest {};

// Runs the server to completion (it must exit on its own, quickly).
struct Finished {
  ExitStatus exit;
  std::vector<std::string> err;
  std::string output;
  bool listened = false;
};

Finished run_to_exit(const Env& env, std::vector<std::string> args = {}) {
  ServerProcess process(env, std::move(args));
  Finished run;
  const auto exit = process.wait_exit(15s);
  if (!exit) {
    ADD_FAILURE() << "the server did not exit on its own; output:\n" << process.output();
    return run;
  }
  run.exit = *exit;
  run.err = process.stderr_lines();
  run.output = process.output();
  run.listened = process.count_log_msg("listening") > 0;
  return run;
}

// run_to_exit() for each environment, kConcurrent at a time: each run is a sanitizer-built
// process that mostly waits for its own start-up and exit.
std::vector<Finished> run_all_to_exit(const std::vector<Env>& envs) {
  constexpr std::size_t kConcurrent = 4;
  std::vector<Finished> runs(envs.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < kConcurrent; ++w) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < envs.size(); i = next++) runs[i] = run_to_exit(envs[i]);
    });
  }
  for (std::thread& worker : workers) worker.join();
  return runs;
}

TEST_F(ConfigTest, InvalidValuesStopTheServerWithOneLineNamingTheVariable) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"PORT", "abc"},
      {"PORT", "65536"},
      {"PORT", "-1"},
      {"PORT", ""},
      {"PORT", "80 "},
      {"RECONNECT_GRACE_MS", "-1"},
      {"RECONNECT_GRACE_MS", "1.5"},
      {"RECONNECT_GRACE_MS", "10s"},
      {"HEARTBEAT_TIMEOUT_MS", "499"},
      {"GATE_TIMEOUT_MS", "abc"},
      {"GATE_TIMEOUT_MS", "99"},
      {"MAX_CONNECTIONS", "0"},
      {"MAX_HTTP_CONNECTIONS", "0"},
      {"RATE_LIMIT_PER_SEC", "nan"},
      {"RATE_LIMIT_PER_SEC", "0"},
      {"RATE_LIMIT_BURST", "0.5"},
      {"SEND_QUEUE_MAX_BYTES", "131071"},
      {"SEND_QUEUE_MAX_MESSAGES", "15"},
      {"HANDSHAKE_TIMEOUT_MS", "99"},
      {"DRAIN_TIMEOUT_MS", "14001"},
      {"STATUS_LIST_ROOMS", "maybe"},
      {"SHORT_ID_TTL_MS", "999"},
      {"PIN_HASH_ITERATIONS", "999"},
      {"LOG_LEVEL", "loud"},
      {"HOST", "localhost"},
      {"NODE_ID", "bad id"},
      {"PUBLIC_URL", "ftp://example.com"},
      {"ADMIN_TOKEN", "a"},
      {"ADMIN_TOKEN", "fifteen-chars-x"},
      {"SHORT_ID_MAX_NEW_PER_ADDRESS", "0"},
      {"STATUS_PUBLIC", "everyone"},
      {"ALLOWED_ORIGINS", "https://tandem.watch/app"},
      {"ALLOWED_ORIGINS", "tandem.watch"},
      {"ROOM_MAX_NEW_PER_ADDRESS", "0"},
      {"EVENTS_MAX_BYTES_PER_ROOM", "100"},
      {"READY_REQUIRES_STORE", "sometimes"},
  };
  std::vector<Env> envs;
  for (const auto& [name, value] : cases) envs.push_back({{name, value}});
  const std::vector<Finished> runs = run_all_to_exit(envs);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [name, value] = cases[i];
    SCOPED_TRACE(name + "=\"" + value + "\"");
    const Finished& run = runs[i];
    EXPECT_TRUE(run.exit.exited) << run.exit.describe();
    EXPECT_NE(run.exit.code, 0) << run.output;
    EXPECT_FALSE(run.listened) << run.output;
    ASSERT_EQ(run.err.size(), 1u) << run.output;
    // The line names the variable (as a word: REDIS_PORT would not do for PORT).
    const std::string& line = run.err[0];
    const std::size_t at = line.find(" " + name + "=");
    EXPECT_NE(at, std::string::npos) << line;
  }
}

TEST_F(ConfigTest, AShortAdminTokenIsRefusedAtStartWithoutPrintingIt) {
  const Finished run = run_to_exit({{"ADMIN_TOKEN", "a"}});
  EXPECT_TRUE(run.exit.exited) << run.exit.describe();
  EXPECT_EQ(run.exit.code, 2) << run.output;
  EXPECT_FALSE(run.listened) << run.output;
  ASSERT_EQ(run.err.size(), 1u) << run.output;
  EXPECT_NE(run.err[0].find("ADMIN_TOKEN"), std::string::npos) << run.err[0];
  EXPECT_NE(run.err[0].find("at least 16 characters"), std::string::npos) << run.err[0];

  const std::string secret = "0123456789abcde";  // 15 characters
  const Finished almost = run_to_exit({{"ADMIN_TOKEN", secret}});
  EXPECT_EQ(almost.exit.code, 2) << almost.output;
  EXPECT_EQ(almost.output.find(secret), std::string::npos) << "the token was printed";

  start_server({{"ADMIN_TOKEN", secret + "f"}});  // 16 characters: accepted
  EXPECT_EQ(http_get(port(), "/health").status, 200);
}

TEST_F(ConfigTest, TurnSettingsAreCheckedAtStartWithoutPrintingTheSecret) {
  const std::string secret = "turn-secret-never-printed-42";
  const std::string short_secret = "short-secret-15";  // 15 bytes
  const std::vector<std::pair<std::string, Env>> cases = {
      {"TURN_URLS", {{"TURN_URLS", "turn:turn.example.org:3478"}}},
      {"TURN_SECRET", {{"TURN_SECRET", secret}}},
      {"TURN_URLS", {{"TURN_URLS", "turn://turn.example.org"}, {"TURN_SECRET", secret}}},
      {"TURN_URLS", {{"TURN_URLS", "turn:turn.example.org?transport=sctp"}, {"TURN_SECRET", secret}}},
      {"STUN_URLS", {{"STUN_URLS", "http://stun.example.org"}}},
      {"TURN_TTL_S", {{"TURN_TTL_S", "59"}}},
      {"TURN_SECRET", {{"TURN_URLS", "turn:turn.example.org"}, {"TURN_SECRET", short_secret}}},
      {"TURN_SECRET_FILE",
       {{"TURN_URLS", "turn:turn.example.org"}, {"TURN_SECRET_FILE", "/nonexistent/turn"}}},
  };
  for (const auto& [name, env] : cases) {
    SCOPED_TRACE(name);
    const Finished run = run_to_exit(env);
    EXPECT_TRUE(run.exit.exited) << run.exit.describe();
    EXPECT_EQ(run.exit.code, 2) << run.output;
    EXPECT_FALSE(run.listened) << run.output;
    ASSERT_EQ(run.err.size(), 1u) << run.output;
    EXPECT_NE(run.err[0].find(name), std::string::npos) << run.err[0];
    EXPECT_EQ(run.output.find(secret), std::string::npos) << "the secret was printed";
    EXPECT_EQ(run.output.find(short_secret), std::string::npos) << "the secret was printed";
  }

  // Accepted: the server runs, and the secret is in none of its output.
  start_server({{"TURN_URLS", "turn:127.0.0.1:3478?transport=udp,turns:turn.example.org:5349"},
                {"TURN_SECRET", secret},
                {"TURN_TTL_S", "60"},
                {"STUN_URLS", ""}});
  EXPECT_EQ(http_get(port(), "/health").status, 200);
  EXPECT_EQ(http_get(port(), "/status").body.find(secret), std::string::npos);
  EXPECT_EQ(server().output().find(secret), std::string::npos);
}

TEST_F(ConfigTest, UnknownFlagStopsTheServer) {
  const Finished run = run_to_exit({}, {"--no-such-option=1"});
  EXPECT_TRUE(run.exit.exited);
  EXPECT_NE(run.exit.code, 0);
  EXPECT_FALSE(run.listened);
  ASSERT_EQ(run.err.size(), 1u) << run.output;
  EXPECT_NE(run.err[0].find("--no-such-option"), std::string::npos) << run.err[0];

  const Finished missing = run_to_exit({}, {"--port"});
  EXPECT_NE(missing.exit.code, 0);
  ASSERT_EQ(missing.err.size(), 1u) << missing.output;
  EXPECT_NE(missing.err[0].find("--port"), std::string::npos) << missing.err[0];

  const Finished positional = run_to_exit({}, {"serve"});
  EXPECT_NE(positional.exit.code, 0);
  EXPECT_EQ(positional.err.size(), 1u) << positional.output;
}

TEST_F(ConfigTest, InvalidFlagValueNamesTheVariable) {
  const Finished run = run_to_exit({}, {"--reconnect-grace-ms=-1"});
  EXPECT_NE(run.exit.code, 0);
  ASSERT_EQ(run.err.size(), 1u) << run.output;
  EXPECT_NE(run.err[0].find("RECONNECT_GRACE_MS"), std::string::npos) << run.err[0];
}

TEST_F(ConfigTest, FlagsOverrideTheEnvironment) {
  // PORT=abc alone is fatal; the flag wins, in both spellings.
  start_server({{"PORT", "abc"}, {"NODE_ID", "env-node"}}, {"--port=0", "--node-id", "flag-node"});
  const HttpResponse health = http_get(port(), "/health");
  EXPECT_EQ(str(health.json_object(), "nodeId"), "flag-node");
  EXPECT_EQ(server().node_id(), "env-node");  // what the harness set; the flag won
}

TEST_F(ConfigTest, AFlagChangesBehaviour) {
  // The environment says 30 s of grace; the flag says none: a drop is a leave at once.
  start_server({{"RECONNECT_GRACE_MS", "30000"}}, {"--reconnect-grace-ms=0"});
  auto alice = joined("room", "alice");
  auto bob = joined("room", "bob");
  alice->expect("USER_JOINED");
  bob->drop();
  EXPECT_EQ(str(alice->expect("USER_LEFT", 2s), "userId"), "bob");
}

TEST_F(ConfigTest, BoundaryValuesAreAccepted) {
  start_server({{"HEARTBEAT_TIMEOUT_MS", "500"},
                {"GATE_TIMEOUT_MS", "100"},
                {"SEND_QUEUE_MAX_BYTES", "131072"},
                {"SEND_QUEUE_MAX_MESSAGES", "16"},
                {"RATE_LIMIT_PER_SEC", "0.1"},
                {"RATE_LIMIT_BURST", "1"},
                {"DRAIN_TIMEOUT_MS", "0"},
                {"STATUS_LIST_ROOMS", "FALSE"},
                {"RECONNECT_GRACE_MS", "0"},
                {"LOG_LEVEL", "debug"},
                {"PUBLIC_URL", "https://tandem.example/base/"}});
  EXPECT_EQ(http_get(port(), "/health").status, 200);
  EXPECT_EQ(str(http_get(port(), "/api/short-id/r").json_object(), "shortUrl")
                .rfind("https://tandem.example/base/room/", 0),
            0u);
}

TEST_F(ConfigTest, HelpAndSchema) {
  {
    ServerProcess help({}, {"--help"});
    const auto exit = help.wait_exit(15s);
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe();
    const std::string out = help.output();
    EXPECT_NE(out.find("--reconnect-grace-ms"), std::string::npos) << out;
    EXPECT_NE(out.find("RECONNECT_GRACE_MS"), std::string::npos) << out;
    EXPECT_EQ(help.count_log_msg("listening"), 0u);
  }
  {
    ServerProcess schema({}, {"--config-schema"});
    const auto exit = schema.wait_exit(15s);
    ASSERT_TRUE(exit.has_value());
    EXPECT_TRUE(exit->exited && exit->code == 0) << exit->describe();
    const auto lines = schema.lines();
    ASSERT_FALSE(lines.empty());
    boost::system::error_code ec;
    const auto doc = boost::json::parse(lines[0].text, ec);
    ASSERT_FALSE(ec) << lines[0].text;
    ASSERT_TRUE(doc.is_array());
    bool found = false;
    for (const auto& option : doc.as_array()) {
      if (option.is_object() && str(option.as_object(), "env") == "RECONNECT_GRACE_MS") {
        found = true;
        EXPECT_EQ(str(option.as_object(), "flag"), "--reconnect-grace-ms");
        EXPECT_EQ(str(option.as_object(), "default"), "10000");
      }
    }
    EXPECT_TRUE(found) << lines[0].text;
  }
}

TEST_F(ConfigTest, APortInUseIsAnError) {
  start_server();
  const Finished run = run_to_exit({{"PORT", std::to_string(port())}});
  EXPECT_TRUE(run.exit.exited);
  EXPECT_NE(run.exit.code, 0) << run.output;
  EXPECT_FALSE(run.listened) << run.output;
  EXPECT_EQ(http_get(port(), "/health").status, 200);  // the first one is unharmed
}

}  // namespace
}  // namespace tandem::test
