#pragma once
// One WebSocket connection (STYLE.md 3): the stream, one read buffer, a FIFO queue of
// shared frames, counters. One read and one write in flight; every completion holds
// shared_from_this(); it unregisters from the Server in its destructor.
#include "cluster/rooms.hpp"
#include "net/token_bucket.hpp"
#include "net/types.hpp"
#include "protocol/event.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <memory>
#include <vector>

namespace tandem::net {

class Server;

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  using Request = beast::http::request<beast::http::string_body>;

  WsSession(Stream&& stream, Server& server, std::string remote_address);
  ~WsSession();
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  // Completes the upgrade requested by `request`, then reads until the connection ends.
  void run(Request request);

  // Queue a frame. Past the queue limit the client is closed (1008) and counted: ordered
  // messages are never dropped while the connection stays open.
  void send(const protocol::Frame& frame);
  // Close after what is queued (WebSocket close code and reason).
  void close(std::uint16_t code, std::string_view reason);

  cluster::ConnId id() const noexcept { return info_.id; }
  // Closes the socket without a closing handshake (shutdown after the drain).
  void abort();

 private:
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle_text(std::string_view text);
  void send_error(protocol::ErrorCode code, std::string message);
  void do_write();
  void on_write(beast::error_code ec, std::size_t bytes);
  void do_close();
  void finish(cluster::CloseKind kind, std::uint16_t code);
  cluster::CloseKind end_kind() const noexcept;
  void abort_after(std::chrono::milliseconds delay);
  void pop_front();

  beast::websocket::stream<Stream> ws_;
  Server& server_;
  std::weak_ptr<void> server_alive_;
  cluster::ConnectionInfo info_;
  beast::flat_buffer buffer_;
  std::vector<protocol::Frame> queue_;  // FIFO: queue_[head_] is next (in flight if writing_)
  std::size_t head_ = 0;
  std::size_t queued_bytes_ = 0;
  TokenBucket bucket_;
  static constexpr std::chrono::seconds kRefusalWindow{10};
  TokenBucket::Clock::time_point refusal_window_start_{};
  std::uint32_t refused_in_window_ = 0;
  std::uint16_t close_code_ = 1000;
  std::string close_reason_;
  std::unique_ptr<asio::steady_timer> abort_timer_;  // only while a close is stuck
  bool registered_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool closing_ = false;   // no more frames accepted; close after the queue
  bool finished_ = false;  // the room layer has been told the connection ended
};

}  // namespace tandem::net
