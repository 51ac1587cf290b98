#pragma once
// A real PostgreSQL 15 server for tests, started and owned by the test process.
//
// The constructor runs initdb into a fresh temporary directory and starts `postgres` on a
// free port on 127.0.0.1 (its Unix socket in that directory). When the test runs as root
// the directory is handed to the `postgres` user and both run as that user (the server
// refuses to run as root). The server is a direct child process (not daemonized by
// pg_ctl) with a parent-death signal, so it cannot outlive the test process, even if the
// test crashes. The destructor stops it (fast shutdown, then SIGQUIT, then SIGKILL, by PID)
// and removes the directory.
//
// stop()/start() stop and start the same data directory on the same port: a database
// outage as clients see it. Not thread-safe: use it from the thread that created it (the
// parent-death signal follows that thread).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::test {

class PostgresServer {
 public:
  struct Options {
    std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";
    std::chrono::milliseconds start_timeout{30'000};
    // Tests do not need crash safety: fsync off makes them faster. True keeps it on.
    bool durable = false;
  };

  // Throws std::runtime_error (with the server's log) if it cannot be started.
  PostgresServer();
  explicit PostgresServer(Options options);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Fast shutdown (SIGINT), escalating to SIGQUIT and SIGKILL; waits for the exit.
  void stop();
  // Starts the same data directory on the same port and waits until it accepts
  // connections. Throws std::runtime_error on failure.
  void start();
  // SIGKILL, as in a crash (the next start() recovers).
  void kill();
  bool running() const noexcept { return pid_ > 0; }

  pid_t pid() const noexcept { return pid_; }
  std::uint16_t port() const noexcept { return port_; }
  const std::filesystem::path& directory() const noexcept { return base_; }
  // postgresql://postgres@127.0.0.1:<port>/<database>
  std::string conninfo(std::string_view database = "postgres") const;
  // Creates a database (a fresh name unless given) and returns its conninfo.
  std::string create_database(std::string name = "");
  // The server's log so far (for failure messages).
  std::string log() const;

  // Runs one SQL statement (no parameters) and returns its rows as text (NULL: nullopt).
  // Throws std::runtime_error on failure.
  using Row = std::vector<std::optional<std::string>>;
  static std::vector<Row> query(const std::string& conninfo, const std::string& sql);

 private:
  void initdb();
  pid_t spawn(const std::vector<std::string>& argv) const;
  bool wait_exit(std::chrono::milliseconds timeout);

  Options options_;
  std::filesystem::path base_;
  std::filesystem::path data_;
  std::filesystem::path log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  uid_t uid_ = 0;  // whom the server runs as (0: unchanged)
  gid_t gid_ = 0;
  bool switch_user_ = false;
  int databases_ = 0;
};


}  // namespace tandem::test
