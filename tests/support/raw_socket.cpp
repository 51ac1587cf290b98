#include "support/raw_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace tandem::test {

namespace {

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

sockaddr_in loopback(const std::string& address, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  return addr;
}

}  // namespace

RawSocket::~RawSocket() {
  close();
}

RawSocket::RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

RawSocket& RawSocket::operator=(RawSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

RawSocket RawSocket::start_connect(std::uint16_t port, const RawOptions& options) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return RawSocket();
  RawSocket socket(fd);
  if (options.receive_buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer_bytes,
                 sizeof options.receive_buffer_bytes);
  }
  if (options.send_buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options.send_buffer_bytes,
                 sizeof options.send_buffer_bytes);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!options.local_address.empty()) {
    // Many connections from one source address need the ports of all of them.
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const sockaddr_in local = loopback(options.local_address, 0);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      return RawSocket();
    }
  }
  const sockaddr_in remote = loopback("127.0.0.1", port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0 &&
      errno != EINPROGRESS) {
    return RawSocket();
  }
  return socket;
}

RawSocket RawSocket::connect(std::uint16_t port, const RawOptions& options, Millis timeout) {
  RawSocket socket = start_connect(port, options);
  if (!socket.valid()) return socket;
  pollfd pfd{socket.fd_, POLLOUT, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return RawSocket();
  int error = 0;
  socklen_t size = sizeof error;
  if (::getsockopt(socket.fd_, SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error != 0) {
    return RawSocket();
  }
  return socket;
}

bool RawSocket::send_all(std::string_view bytes, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    const auto sent = try_send(bytes);
    if (!sent) return false;
    bytes.remove_prefix(*sent);
    if (bytes.empty()) break;
    pollfd pfd{fd_, POLLOUT, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) != 1) return false;
  }
  return true;
}

std::optional<std::size_t> RawSocket::try_send(std::string_view bytes) {
  if (fd_ < 0) return std::nullopt;
  const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n >= 0) return static_cast<std::size_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  return std::nullopt;
}

bool RawSocket::peer_closed() const {
  if (fd_ < 0) return true;
  pollfd pfd{fd_, POLLRDHUP, 0};
  if (::poll(&pfd, 1, 0) != 1) return false;
  return (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP)) != 0;
}

std::string RawSocket::read_until_closed(Millis timeout, bool* closed) {
  const auto deadline = Clock::now() + timeout;
  std::string out;
  char buffer[16384];
  if (closed != nullptr) *closed = false;
  while (fd_ >= 0) {
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, remaining_ms(deadline));
    if (ready <= 0) break;  // deadline
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (closed != nullptr) *closed = true;  // EOF or reset
    break;
  }
  return out;
}

std::string RawSocket::read_until(std::string_view marker, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string out;
  char buffer[4096];
  while (fd_ >= 0 && out.find(marker) == std::string::npos) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, remaining_ms(deadline)) <= 0) break;
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      break;
    }
  }
  return out;
}

std::string ws_upgrade_request(std::uint16_t port, std::string_view target,
                               std::string_view extra_headers) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         std::string(extra_headers) + "\r\n";
}

}  // namespace tandem::test
