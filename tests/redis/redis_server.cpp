#include "redis/redis_server.hpp"

#include "common/child_process.hpp"

#include "common/test_os.hpp"

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

ReplyPtr exec(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
}

std::string flatten(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(r.integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (std::size_t i = 0; i < r.elements; ++i) {
        if (i > 0) out += ',';
        out += flatten(*r.element[i]);
      }
      return out;
    }
    default:
      return std::string(r.str, r.len);
  }
}

ContextPtr connect_blocking(std::uint16_t port) {
  const timeval timeout{1, 0};
  ContextPtr c(redisConnectWithTimeout("127.0.0.1", port, timeout));
  if (!c || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), timeout);
  return c;
}

}  // namespace


RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  dir_ = make_temp_dir("tandem-redis");
  port_ = free_loopback_port();
  try {
    start();
  } catch (...) {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

RedisServer::Options RedisServer::replica_of(const RedisServer& master) {
  Options options;
  options.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master.port())};
  return options;
}

RedisServer::Options RedisServer::sentinel_for(const RedisServer& master, const std::string& name,
                                               int quorum, std::chrono::milliseconds down_after) {
  Options options;
  options.sentinel_config = "sentinel monitor " + name + " 127.0.0.1 " +
                            std::to_string(master.port()) + " " + std::to_string(quorum) +
                            "\nsentinel down-after-milliseconds " + name + " " +
                            std::to_string(down_after.count()) + "\nsentinel failover-timeout " +
                            name + " 3000\n";
  return options;
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url(int db) const {
  std::string out = "redis://";
  if (!options_.password.empty()) out += ":" + options_.password + "@";
  return out + "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

void RedisServer::start() {
  if (running()) return;
  std::vector<std::string> argv = {"/usr/bin/redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_.string(),
                                   "--daemonize",
                                   "no"};
  if (!options_.password.empty()) {
    argv.emplace_back("--requirepass");
    argv.push_back(options_.password);
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  if (!options_.sentinel_config.empty()) {
    const auto conf = dir_ / "sentinel.conf";
    std::ofstream(conf) << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_.string() << "\n"
                        << options_.sentinel_config << "\n";
    argv = {"/usr/bin/redis-server", conf.string(), "--sentinel"};
  }
  pid_ = spawn_child(argv, SpawnOptions{dir_ / "redis.log", SIGKILL, std::nullopt});

  const auto deadline = SteadyClock::now() + options_.start_timeout;
  while (!answers_ping()) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited at start:\n" + log());
    }
    if (SteadyClock::now() >= deadline) {
      stop();
      throw std::runtime_error("redis-server did not answer PING in time:\n" + log());
    }
    std::this_thread::sleep_for(10ms);  // polling interval, bounded by the deadline
  }
}

bool RedisServer::answers_ping() const {
  const ContextPtr c = connect_blocking(port_);
  if (!c) return false;
  const ReplyPtr reply = exec(c.get(), {"PING"});
  // With requirepass, PING answers NOAUTH: the server is up all the same.
  return reply != nullptr;
}

bool RedisServer::wait_exit(std::chrono::milliseconds timeout) { return wait_child(pid_, timeout); }

void RedisServer::stop() { stop_child(pid_, {{SIGTERM, 5s}}); }

void RedisServer::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  wait_exit(5s);
}

std::string RedisServer::log() const {
  std::ifstream in(dir_ / "redis.log");
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string RedisServer::run(const std::vector<std::string>& args, int db) const {
  const ContextPtr c = connect_blocking(port_);
  if (!c) throw std::runtime_error("cannot connect to redis-server on " + std::to_string(port_));
  if (!options_.password.empty()) exec(c.get(), {"AUTH", options_.password});
  if (db != 0) exec(c.get(), {"SELECT", std::to_string(db)});
  const ReplyPtr reply = exec(c.get(), args);
  if (!reply) throw std::runtime_error(std::string("redis command failed: ") + c->errstr);
  return flatten(*reply);
}

void RedisServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

}  // namespace tandem::test
