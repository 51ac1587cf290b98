#include "store/postgres_server.hpp"

#include "common/child_process.hpp"

#include "common/test_os.hpp"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::runtime_error errno_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace


PostgresServer::PostgresServer() : PostgresServer(Options{}) {}

PostgresServer::PostgresServer(Options options) : options_(std::move(options)) {
  base_ = make_temp_dir("tandem-pg");
  data_ = base_ / "data";
  log_path_ = base_ / "postgres.log";
  try {
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) throw std::runtime_error("running as root and there is no postgres user");
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      switch_user_ = true;
      if (::chown(base_.c_str(), uid_, gid_) != 0) throw errno_error("chown " + base_.string());
    }
    initdb();
    port_ = free_loopback_port();
    start();
  } catch (...) {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(base_, ec);
}

pid_t PostgresServer::spawn(const std::vector<std::string>& argv) const {
  // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its backends with it.
  SpawnOptions options{log_path_, SIGQUIT, std::nullopt};
  if (switch_user_) options.run_as = std::make_pair(uid_, gid_);
  return spawn_child(argv, options);
}

void PostgresServer::initdb() {
  const pid_t pid =
      spawn({(options_.bin_dir / "initdb").string(), "-D", data_.string(), "-A", "trust", "-U",
             "postgres", "-E", "UTF8", "--locale=C", "-N", "--no-instructions"});
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw errno_error("waitpid initdb");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("initdb failed:\n" + log());
  }
}

std::string PostgresServer::conninfo(std::string_view database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
}

void PostgresServer::start() {
  if (running()) return;
  std::vector<std::string> argv = {(options_.bin_dir / "postgres").string(),
                                   "-D",
                                   data_.string(),
                                   "-p",
                                   std::to_string(port_),
                                   "-k",
                                   base_.string(),
                                   "-c",
                                   "listen_addresses=127.0.0.1",
                                   "-c",
                                   "max_connections=40",
                                   "-c",
                                   "shared_buffers=16MB"};
  if (!options_.durable) {
    for (const char* setting : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
      argv.emplace_back("-c");
      argv.emplace_back(setting);
    }
  }
  const auto deadline = SteadyClock::now() + options_.start_timeout;
  const std::string ping = conninfo() + "?connect_timeout=1";
  while (true) {
    pid_ = spawn(argv);
    // Poll until it accepts connections (or exits: e.g. the previous instance's backends
    // still hold its shared memory after a kill(); then try again).
    while (SteadyClock::now() < deadline) {
      if (PQping(ping.c_str()) == PQPING_OK) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    if (SteadyClock::now() >= deadline) {
      stop();
      throw std::runtime_error("postgres did not start in time:\n" + log());
    }
    std::this_thread::sleep_for(200ms);
  }
}

bool PostgresServer::wait_exit(std::chrono::milliseconds timeout) { return wait_child(pid_, timeout); }

void PostgresServer::stop() {
  // Fast shutdown (disconnect clients, checkpoint, exit), then immediate shutdown.
  stop_child(pid_, {{SIGINT, 15s}, {SIGQUIT, 5s}});
}

void PostgresServer::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  wait_exit(5s);
}

std::string PostgresServer::log() const {
  std::ifstream in(log_path_);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string PostgresServer::create_database(std::string name) {
  if (name.empty()) name = "tandem_test_" + std::to_string(++databases_);
  query(conninfo(), "CREATE DATABASE " + name);
  return conninfo(name);
}

std::vector<PostgresServer::Row> PostgresServer::query(const std::string& conninfo,
                                                       const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("connect: " + message);
  }
  PGresult* result = PQexec(conn, sql.c_str());
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string message = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    throw std::runtime_error(sql + ": " + message);
  }
  std::vector<Row> rows;
  for (int r = 0; r < PQntuples(result); ++r) {
    Row row;
    for (int c = 0; c < PQnfields(result); ++c) {
      if (PQgetisnull(result, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result, r, c),
                                     static_cast<std::size_t>(PQgetlength(result, r, c))));
      }
    }
    rows.push_back(std::move(row));
  }
  PQclear(result);
  PQfinish(conn);
  return rows;
}

}  // namespace tandem::test
