#pragma once
// A real coturn (Debian's `coturn` package: /usr/bin/turnserver) for tests, owned by the
// test process: a direct child listening on 127.0.0.1 on a free port, relaying on a small
// range of ports, with REST authentication (use-auth-secret) and a random shared secret;
// no config file from /etc (-n), no CLI, no TLS, its log and database in a temp dir. It
// dies with the test process (parent-death signal); the destructor stops it by PID and
// removes the directory.
#include "common/test_os.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::test {

class TurnServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/turnserver";
  static constexpr const char* kClient = "/usr/bin/turnutils_uclient";
  static constexpr const char* kRealm = "tandem.test";

  // Whether coturn's server and test client are installed.
  static bool installed();

  // Starts it and waits until it answers a STUN Binding request. Throws std::runtime_error.
  explicit TurnServer(std::string secret,
                      std::chrono::milliseconds start_timeout = std::chrono::seconds(15));
  ~TurnServer();
  TurnServer(const TurnServer&) = delete;
  TurnServer& operator=(const TurnServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string log() const;

  struct ClientRun {
    int exit_code = -1;  // -1: killed at the timeout
    std::string output;
  };
  // Runs turnutils_uclient against this server with a TURN username and password: two
  // clients that each Allocate a relay on 127.0.0.1 and send each other a few messages
  // through their relays (-y). Exit code 0 = both allocations and the exchange succeeded.
  ClientRun allocate_and_relay(const std::string& username, const std::string& password,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  bool answers_binding() const;

  TempDir dir_{"tandem-coturn"};
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  int runs_ = 0;
};

}  // namespace tandem::test
