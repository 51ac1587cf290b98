#pragma once
// One WebSocket client connection (Beast over a plain TCP socket). Used on its worker's
// thread only. One read always in flight; a FIFO of frames with one write in flight.
#include "messages.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string_view>

namespace tandem::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class WsClient {
 public:
  struct Handlers {
    std::function<void(std::string_view text)> on_message;
    // The connection ended without close_abrupt(): the server's close code, or 1006 when the
    // connection broke without a close frame.
    std::function<void(int code)> on_close;
  };
  // ok, or what failed ("connect: ...", "handshake: ...").
  using OnOpen = std::function<void(bool ok, std::string_view error)>;

  static std::shared_ptr<WsClient> make(asio::io_context& io, Handlers handlers);
  virtual ~WsClient() = default;

  // SO_RCVBUF for the next connect (0: the kernel's autotuning). A small one makes a stalled
  // reader's backlog reach the server's queue quickly instead of sitting in the kernel.
  virtual void set_receive_buffer(int bytes) = 0;
  // Binds the socket to `source` (port chosen at connect time), connects, upgrades on /ws.
  virtual void connect(const tcp::endpoint& server, const asio::ip::address_v4& source,
                       OnOpen on_open) = 0;
  virtual void send(Frame frame) = 0;
  // Closes the socket without a WebSocket close (a vanished client). No handler runs after.
  virtual void close_abrupt() = 0;
  // A client that stops reading (a stalled browser tab): the read in flight completes, no
  // new one starts until reading is resumed.
  virtual void set_reading(bool reading) = 0;
  virtual bool is_open() const noexcept = 0;
  virtual std::size_t queued() const noexcept = 0;
};

}  // namespace tandem::bench
