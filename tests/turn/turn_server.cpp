#include "turn/turn_server.hpp"

#include "common/child_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tandem::test {

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr std::uint16_t kRelayPorts = 16;  // a few allocations at a time are plenty

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A relay range of free ports: the ports after a free one, when they are free too. coturn
// skips a port of the range it cannot bind, so a port taken meanwhile costs nothing.
std::uint16_t relay_base() {
  const std::uint16_t base = free_loopback_port();
  return base > 65535 - kRelayPorts ? static_cast<std::uint16_t>(base - kRelayPorts) : base;
}

}  // namespace

bool TurnServer::installed() {
  return ::access(kBinary, X_OK) == 0 && ::access(kClient, X_OK) == 0;
}

TurnServer::TurnServer(std::string secret, std::chrono::milliseconds start_timeout)
    : port_(free_loopback_port()) {
  const std::uint16_t min_port = relay_base();
  const auto at = [this](const char* name) { return (dir_.path() / name).string(); };
  const std::vector<std::string> argv = {
      kBinary,
      "-n",  // no configuration file (not /etc/turnserver.conf)
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      "--listening-port=" + std::to_string(port_),
      "--min-port=" + std::to_string(min_port),
      "--max-port=" + std::to_string(min_port + kRelayPorts - 1),
      "--use-auth-secret",
      "--static-auth-secret=" + secret,
      std::string("--realm=") + kRealm,
      "--no-cli",
      "--no-tls",
      "--no-dtls",
      "--allow-loopback-peers",  // the relays are on 127.0.0.1, and so are the peers
      "--userdb=" + at("turndb"),
      "--pidfile=" + at("turnserver.pid"),
      "--log-file=" + at("turnserver.log"),
      "--simple-log",  // that name, without a date appended
      "--no-stdout-log"};
  pid_ = spawn_child(argv, SpawnOptions{dir_.path() / "stdout.log", SIGKILL, std::nullopt});

  const auto deadline = SteadyClock::now() + start_timeout;
  while (!answers_binding()) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("turnserver exited at start:\n" + log());
    }
    if (SteadyClock::now() >= deadline) {
      stop_child(pid_, {{SIGTERM, 5s}});
      throw std::runtime_error("turnserver did not answer a STUN Binding request in time:\n" +
                               log());
    }
    // answers_binding() waited up to 100 ms for an answer: no extra delay here.
  }
}

TurnServer::~TurnServer() {
  stop_child(pid_, {{SIGTERM, 5s}});
}

std::string TurnServer::log() const {
  return read_file(dir_.path() / "stdout.log") + read_file(dir_.path() / "turnserver.log");
}

// An RFC 5389 Binding request over UDP (20-byte header: type 0x0001, length 0, the magic
// cookie, a transaction id); ready when a Binding success response (0x0101) comes back
// with the same transaction id.
bool TurnServer::answers_binding() const {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::array<unsigned char, 20> request{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  std::mt19937 random(std::random_device{}());
  for (std::size_t i = 8; i < request.size(); ++i) request[i] = random() & 0xff;
  bool ok = false;
  if (::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&addr),
               sizeof addr) == static_cast<ssize_t>(request.size())) {
    pollfd p{fd, POLLIN, 0};
    std::array<unsigned char, 512> reply{};
    if (::poll(&p, 1, 100) == 1) {
      const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
      ok = n >= 20 && reply[0] == 0x01 && reply[1] == 0x01 &&
           std::equal(request.begin() + 8, request.end(), reply.begin() + 8);
    }
  }
  ::close(fd);
  return ok;
}

TurnServer::ClientRun TurnServer::allocate_and_relay(const std::string& username,
                                                     const std::string& password,
                                                     std::chrono::milliseconds timeout) {
  const auto out = dir_.path() / ("uclient-" + std::to_string(++runs_) + ".log");
  pid_t pid = spawn_child({kClient, "-y", "-n", "2", "-m", "1", "-u", username, "-w", password,
                           "-p", std::to_string(port_), "127.0.0.1"},
                          SpawnOptions{out, SIGKILL, std::nullopt});
  ClientRun run;
  int status = 0;
  if (!wait_child(pid, timeout, &status)) {
    stop_child(pid, {{SIGKILL, 5s}});
  } else if (WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  run.output = read_file(out);
  return run;
}

}  // namespace tandem::test
