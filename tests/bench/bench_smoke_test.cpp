// tandem-bench (bench/load) against the real server binary: every scenario runs briefly at
// a low rate, and its JSON report must account for everything it did (every connection
// joined, every message sent delivered, no ERROR frame, the server's /proc figures read).
// These check the tool, so that docs/BENCHMARKS.md's commands work on a clean checkout;
// no assertion is made on any speed figure (this machine is shared and noisy).
#include "common/child_process.hpp"
#include "common/test_os.hpp"
#include "support/server_process.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace tandem::test {
namespace {

namespace json = boost::json;

struct BenchRun {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
  json::object report;  // stdout as JSON, when it is an object
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs tandem-bench with `args` and waits for it (each run is bounded by its own
// --duration, --warmup and --drain; 120 s covers a sanitizer build on a busy machine).
BenchRun run_bench(const std::vector<std::string>& args) {
  TempDir dir("tandem-bench-test");
  const auto out = dir.path() / "out.json";
  const auto err = dir.path() / "err.txt";
  // sh redirects stdout (the JSON) and stderr (the summary) to files apart, then becomes
  // tandem-bench (exec): the child waited for, and killed at the timeout, is the generator.
  const std::string script = R"(out=$1 err=$2; shift 2; exec "$@" >"$out" 2>"$err")";
  std::vector<std::string> argv{"/bin/sh", "-c", script, "sh", out.string(), err.string(),
                                TANDEM_BENCH_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  options.log = dir.path() / "sh.log";
  pid_t pid = spawn_child(argv, options);
  BenchRun run;
  int status = 0;
  if (!wait_child(pid, std::chrono::seconds(120), &status)) {
    stop_child(pid, {});
    ADD_FAILURE() << "tandem-bench did not finish in 120 s";
    return run;
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.stdout_text = read_text(out);
  run.stderr_text = read_text(err);
  json::error_code ec;
  json::value value = json::parse(run.stdout_text, ec);
  if (!ec && value.is_object()) run.report = std::move(value.get_object());
  return run;
}

std::int64_t integer(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) {
    ADD_FAILURE() << "no \"" << key << "\" in " << json::serialize(object);
    return -1;
  }
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->get_uint64());
  if (value->is_double()) return static_cast<std::int64_t>(value->get_double());
  ADD_FAILURE() << "\"" << key << "\" is not a number in " << json::serialize(object);
  return -1;
}

const json::object& member(const json::object& object, std::string_view key) {
  static const json::object kEmpty;
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_object()) {
    ADD_FAILURE() << "no object \"" << key << "\" in " << json::serialize(object);
    return kEmpty;
  }
  return value->get_object();
}

class BenchSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As bench/lib.sh starts it: the per-connection and per-address limits out of the
    // generator's way (it is one client on a few loopback addresses).
    server_ = start_server({{"RATE_LIMIT_PER_SEC", "1000000"},
                            {"RATE_LIMIT_BURST", "1000000"},
                            {"RELAY_BYTES_PER_SEC", "10000000000"},
                            {"RELAY_BYTES_BURST", "10000000000"},
                            {"MAX_CONNECTIONS_PER_IP", "250000"},
                            {"ROOM_MAX_NEW_PER_ADDRESS", "1000000"}});
    ASSERT_TRUE(server_);
  }

  // The target and the server's pid (for its CPU and RSS), then the scenario's options.
  std::vector<std::string> target() const {
    return {"--port", std::to_string(server_->port()), "--server-pid",
            std::to_string(server_->pid())};
  }

  BenchRun run(std::vector<std::string> args) {
    const auto common = target();
    args.insert(args.begin() + 1, common.begin(), common.end());
    BenchRun result = run_bench(args);
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    EXPECT_FALSE(result.report.empty()) << "stdout is not a JSON object:\n"
                                        << result.stdout_text << "\nstderr:\n"
                                        << result.stderr_text;
    return result;
  }

  // A paced step (fanout, relay, ping): everything sent was delivered, nothing refused.
  static void expect_all_delivered(const json::object& step) {
    EXPECT_GT(integer(step, "sent"), 0);
    EXPECT_EQ(integer(step, "delivered"), integer(step, "expected")) << json::serialize(step);
    EXPECT_EQ(integer(step, "lost"), 0);
    EXPECT_EQ(integer(step, "error_frames"), 0);
    EXPECT_EQ(integer(step, "send_failed"), 0);
    EXPECT_TRUE(member(step, "server_closed_connections").empty()) << json::serialize(step);
    // The server's figures come from /proc/<pid>: its resident set is never 0, and its
    // threads are found by name (the journal's writer among them).
    const json::object& server = member(member(step, "window"), "server");
    EXPECT_GT(integer(server, "rss_kb_after"), 0);
    EXPECT_TRUE(member(server, "threads_cpu_s").contains("tandem-journal"))
        << json::serialize(server);
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(BenchSmokeTest, FanoutDeliversEveryPlayPauseToEveryMember) {
  const BenchRun run = this->run({"fanout", "--rooms", "2", "--room-size", "4", "--rate", "240",
                                  "--warmup", "0", "--duration", "1", "--drain", "2"});
  const json::object& setup = member(run.report, "setup");
  EXPECT_EQ(integer(setup, "joined"), 8);
  EXPECT_EQ(integer(setup, "join_failed"), 0);
  const json::object& result = member(run.report, "result");
  expect_all_delivered(result);
  // Each PLAY_PAUSE reaches the four members of its room, the sender included.
  EXPECT_EQ(integer(result, "expected"), 4 * integer(result, "sent"));
}

TEST_F(BenchSmokeTest, RelayCarriesTheRealSdpBetweenPairs) {
  const BenchRun run = this->run({"relay", "--pairs", "2", "--rate", "40", "--warmup", "0",
                                  "--duration", "1", "--drain", "2", "--examples",
                                  TANDEM_SHARED_DIR "/examples/client-messages.json"});
  const json::object& result = member(run.report, "result");
  expect_all_delivered(result);
  EXPECT_EQ(integer(result, "expected"), integer(result, "sent"));  // one recipient each
}

TEST_F(BenchSmokeTest, PingGetsAPongForEachPing) {
  const BenchRun run = this->run({"ping", "--rate", "40", "--warmup", "0", "--duration", "1",
                                  "--drain", "2"});
  expect_all_delivered(member(run.report, "result"));
}

// --poll: HTTP pollers while PINGs are measured (how the /status pages were measured).
TEST_F(BenchSmokeTest, PingWithPollersReportsTheirAnswers) {
  const BenchRun run = this->run({"ping", "--rate", "40", "--warmup", "0", "--duration", "1",
                                  "--drain", "2", "--poll", "/status", "--pollers", "2"});
  const json::object& result = member(run.report, "result");
  expect_all_delivered(result);
  const json::object& poll = member(result, "poll");
  EXPECT_GT(integer(poll, "ok"), 0);
  EXPECT_EQ(integer(poll, "failed"), 0);
  EXPECT_GT(integer(poll, "bytes_per_response"), 100);  // a /status document
  EXPECT_EQ(integer(member(poll, "latency"), "count"), integer(poll, "ok"));
}

TEST_F(BenchSmokeTest, ConnectJoinsEveryConnectionAndReadsTheServersMemory) {
  const BenchRun run = this->run({"connect", "--connections", "40", "--room-size", "5"});
  const json::object& result = member(run.report, "result");
  EXPECT_EQ(integer(result, "attempted"), 40);
  EXPECT_EQ(integer(result, "joined"), 40);
  EXPECT_EQ(integer(result, "connect_failed"), 0);
  EXPECT_EQ(integer(result, "join_failed"), 0);
  EXPECT_EQ(integer(member(result, "join_latency"), "count"), 40);
  EXPECT_GT(integer(result, "server_rss_kb_after"), 0);
}

TEST_F(BenchSmokeTest, ChurnJoinsAndLeavesWhileHealthAnswers) {
  const BenchRun run = this->run({"churn", "--workers", "4", "--rooms", "2", "--duration", "1"});
  const json::object& result = member(run.report, "result");
  EXPECT_GT(integer(result, "joins"), 0);
  EXPECT_EQ(integer(result, "connect_failed"), 0);
  EXPECT_EQ(integer(result, "join_failed"), 0);
  EXPECT_EQ(integer(result, "unexpected_server_closes"), 0);
  EXPECT_GT(integer(result, "health_ok"), 0);
  EXPECT_EQ(integer(result, "health_failed"), 0);
}

// The steps must both pass for "max-steps reached": the p99 limit is the tool's highest
// (60 s), so that a stall of a loaded machine cannot end the run early; this test checks
// the stepping, never a speed.
TEST_F(BenchSmokeTest, MaxModeStepsUpAndSaysWhyItStopped) {
  const BenchRun run = this->run({"fanout", "--rooms", "1", "--room-size", "3", "--rate", "100",
                                  "--max", "--max-steps", "2", "--step-duration", "1",
                                  "--p99-limit-ms", "60000", "--warmup", "0", "--drain", "1"});
  const json::object& result = member(run.report, "result");
  const json::value* steps = result.if_contains("steps");
  ASSERT_TRUE(steps != nullptr && steps->is_array()) << json::serialize(result);
  ASSERT_EQ(steps->get_array().size(), 2U);
  for (const json::value& step : steps->get_array()) {
    ASSERT_TRUE(step.is_object());
    expect_all_delivered(step.get_object());
  }
  // The second step offers more than the first (x1.25 by default).
  EXPECT_GT(integer(steps->get_array()[1].get_object(), "sent"),
            integer(steps->get_array()[0].get_object(), "sent"));
  EXPECT_EQ(result.at("stopped_because"), "max-steps reached");
}

// Load goes to loopback only: any other address is refused before a connection is made.
TEST(BenchOptions, RefusesATargetOffLoopbackAndBadCounts) {
  const BenchRun off_loopback = run_bench({"fanout", "--host", "10.1.2.3", "--port", "80"});
  EXPECT_EQ(off_loopback.exit_code, 2);
  EXPECT_NE(off_loopback.stderr_text.find("loopback"), std::string::npos)
      << off_loopback.stderr_text;
  EXPECT_TRUE(off_loopback.stdout_text.empty());
  const BenchRun no_rooms = run_bench({"fanout", "--port", "1", "--rooms", "0"});
  EXPECT_EQ(no_rooms.exit_code, 2);
  EXPECT_NE(no_rooms.stderr_text.find("--rooms"), std::string::npos) << no_rooms.stderr_text;
}

}  // namespace
}  // namespace tandem::test
