#pragma once
// A bare TCP socket to the server on loopback, for clients that misbehave on purpose:
// connections that never send or never read (floods), hand-made HTTP requests, WebSocket
// frames written without reading the answers. POSIX calls, no io_context; every wait has a
// deadline.
#include "support/failure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::test {

struct RawOptions {
  std::string local_address{};  // bind to this local address first ("127.0.0.2"); "" = any
  int receive_buffer_bytes = 0;  // SO_RCVBUF before connecting (0 = system default)
  int send_buffer_bytes = 0;     // SO_SNDBUF before connecting (0 = system default)
};

class RawSocket {
 public:
  RawSocket() = default;
  ~RawSocket();
  RawSocket(RawSocket&& other) noexcept;
  RawSocket& operator=(RawSocket&& other) noexcept;
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Starts a non-blocking connect to 127.0.0.1:port (it may complete later). An invalid
  // socket when even that fails (e.g. out of descriptors or ports).
  static RawSocket start_connect(std::uint16_t port, const RawOptions& options = {});
  // Connects and waits until the connection is established (or fails, or the deadline).
  static RawSocket connect(std::uint16_t port, const RawOptions& options = {},
                           Millis timeout = kTimeout);

  bool valid() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  void close();

  // Writes all of `bytes`, waiting for room up to `timeout`. False on error or deadline.
  bool send_all(std::string_view bytes, Millis timeout = kTimeout);
  // Writes what the socket takes now: the byte count, or nullopt when the connection failed
  // (reset, closed by the server).
  std::optional<std::size_t> try_send(std::string_view bytes);
  // Without reading: the server closed or reset the connection (POLLHUP, POLLERR, or its
  // FIN: POLLRDHUP).
  bool peer_closed() const;
  // Reads until the server closes the connection (or the deadline): everything received.
  // `closed` tells which of the two ended it.
  std::string read_until_closed(Millis timeout, bool* closed = nullptr);
  // Reads until what arrived contains `marker` (e.g. the end of a response header), the
  // server closes, or the deadline: everything received.
  std::string read_until(std::string_view marker, Millis timeout = kTimeout);

 private:
  explicit RawSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// The bytes of a WebSocket upgrade request for `target` (a fixed key).
std::string ws_upgrade_request(std::uint16_t port, std::string_view target = "/ws",
                               std::string_view extra_headers = "");

}  // namespace tandem::test
