#pragma once
// The real tandem-server binary as a child process: environment in, JSON log lines out.
// The child is killed (SIGKILL) and reaped when the object dies, and it also dies with the
// test process (PR_SET_PDEATHSIG), so no test can leak a server.
#include "support/failure.hpp"

#include <boost/json/object.hpp>

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tandem::test {

using Env = std::map<std::string, std::string>;

// An override with this value removes the variable from the child's environment.
inline constexpr std::string_view kUnset = "\x01unset";

struct ExitStatus {
  bool exited = false;  // returned from main / called exit (WIFEXITED)
  int code = -1;        // the exit status when `exited`
  int signal = 0;       // the terminating signal otherwise
  std::string describe() const;
};

// How the child is started beyond its environment and arguments.
struct ProcessOptions {
  // RLIMIT_NOFILE of the child (soft and hard), set between fork and exec; 0 = inherited.
  std::uint64_t open_files_soft = 0;
  std::uint64_t open_files_hard = 0;
};

struct LogLine {
  bool from_stderr = false;
  std::string text;
  std::optional<boost::json::object> json;  // when the line is a JSON object
};

class ServerProcess {
 public:
  // Spawns TANDEM_SERVER_BINARY with PATH (and sanitizer options) inherited, PORT=0,
  // HOST=127.0.0.1, LOG_LEVEL=info, NODE_ID=test-<n>, DATA_DIR=<fresh temp dir>, then
  // `overrides`, and `args` as command-line arguments. Does not wait for anything.
  explicit ServerProcess(const Env& overrides = {}, std::vector<std::string> args = {},
                         ProcessOptions options = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits for the "listening" log line and learns the port. False if the process exits or
  // the line does not come in time.
  bool wait_listening(Millis timeout = Millis{15000});

  std::uint16_t port() const noexcept { return port_; }
  const std::string& node_id() const noexcept { return node_id_; }
  pid_t pid() const noexcept { return pid_; }

  // Sends a signal (no-op once the process has been reaped).
  void signal(int sig);
  // Whether the test sent `sig` (through signal()) at any time.
  bool was_signalled(int sig) const;
  // The exit status once the process has exited (and all its output has been read),
  // waiting up to `timeout`.
  std::optional<ExitStatus> wait_exit(Millis timeout);
  bool running() const;

  // From /proc while it runs: resident memory (VmRSS) and CPU time used (user + system).
  std::optional<std::uint64_t> rss_bytes() const;
  std::optional<double> cpu_seconds() const;

  // The first JSON log line (already printed or printed within `timeout`) matching.
  std::optional<boost::json::object> wait_for_log(
      const std::function<bool(const boost::json::object&)>& match, Millis timeout);
  std::optional<boost::json::object> wait_for_log_msg(std::string_view msg, Millis timeout);
  std::size_t count_log_msg(std::string_view msg) const;

  std::vector<LogLine> lines() const;
  std::vector<std::string> stderr_lines() const;
  // Everything the process printed, in order (stderr lines marked), for failure reports.
  std::string output(std::size_t last_lines = 400) const;

 private:
  void read_output(int out_fd, int err_fd);
  void wait_child();

  std::string node_id_;
  std::string data_dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<LogLine> lines_;
  bool output_closed_ = false;
  std::optional<ExitStatus> exit_;
  std::vector<int> signals_sent_;

  std::thread reader_;
  std::thread waiter_;
};

// Starts a server and waits until it listens; fails the test (and stops it) otherwise.
std::unique_ptr<ServerProcess> start_server(
    const Env& overrides = {}, std::vector<std::string> args = {}, ProcessOptions options = {},
    std::source_location where = std::source_location::current());

}  // namespace tandem::test
