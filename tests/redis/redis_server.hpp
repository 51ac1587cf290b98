#pragma once
// A real redis-server for tests, started and owned by the test process: a direct child on
// a free port on 127.0.0.1, working directory a fresh temp dir, no persistence. It dies
// with the test process (parent-death signal); the destructor stops it by PID (SIGTERM,
// then SIGKILL) and removes the directory. stop()/kill() and start() again reuse the same
// port: an outage as clients see it. Use from the thread that created it.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tandem::test {

class RedisServer {
 public:
  struct Options {
    std::string password;  // requirepass when not empty
    std::vector<std::string> extra_args{};  // e.g. {"--replicaof", "127.0.0.1", "6400"}
    // Not empty: a Redis Sentinel (`redis-server sentinel.conf --sentinel`) whose config file
    // holds these lines after its port and bind (a sentinel rewrites its file: a temp dir).
    std::string sentinel_config{};
    std::chrono::milliseconds start_timeout{10'000};
  };

  RedisServer();
  explicit RedisServer(Options options);

  // Options of a replica of `master`, and of a sentinel watching `master` as `name` (a
  // failover needs `quorum` sentinels to agree that it is down for `down_after`).
  static Options replica_of(const RedisServer& master);
  static Options sentinel_for(const RedisServer& master, const std::string& name, int quorum,
                              std::chrono::milliseconds down_after);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts on port() and waits until it answers PING. Throws std::runtime_error.
  void start();
  void stop();  // SIGTERM, SIGKILL after 5 s; waits for the exit
  void kill();  // SIGKILL, as in a crash
  // SIGSTOP / SIGCONT: a Redis that stops answering while its sockets stay open.
  void pause();
  void resume();
  bool running() const noexcept { return pid_ > 0; }

  std::uint16_t port() const noexcept { return port_; }
  std::string url(int db = 0) const;  // redis://[:password@]127.0.0.1:port/db
  std::string log() const;

  // Runs one command on a short-lived blocking connection (AUTH and SELECT done first) and
  // returns the reply flattened to text: strings/status/errors as is, integers in decimal,
  // nil as "(nil)", arrays as their elements joined by ','. Throws when unreachable.
  std::string run(const std::vector<std::string>& args, int db = 0) const;

 private:
  bool wait_exit(std::chrono::milliseconds timeout);
  bool answers_ping() const;

  Options options_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};


}  // namespace tandem::test
