#pragma once
// One WebSocket connection (STYLE.md 3): the stream, one read buffer, counters. Outgoing
// frames queue in the FrameSocket under the stream (gather writes, one in flight). One read
// in flight; every completion holds shared_from_this(); it unregisters from the Server in
// its destructor.
#include "cluster/rooms.hpp"
#include "net/frame_socket.hpp"
#include "net/token_bucket.hpp"
#include "net/types.hpp"
#include "protocol/event.hpp"
#include "room/clock_exchange.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <memory>

namespace tandem::net {

class Server;

class WsSession final : public std::enable_shared_from_this<WsSession>, private FrameSocket::Listener {
 public:
  using Request = beast::http::request<beast::http::string_body>;

  // `client_address`: reserved with Server::reserve_client; released when the session ends.
  WsSession(tcp::socket&& socket, Server& server, std::string client_address);
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
  // The Server's idle tick when the last message arrived (or the handshake completed).
  std::uint64_t last_active_tick() const noexcept { return last_active_tick_; }
  // Silent for the idle timeout: closed without a closing handshake, and the room layer
  // told it went stale (its member leaves without waiting for the reconnect grace).
  void expire_idle();
  // Closes the socket without a closing handshake (shutdown after the drain).
  void abort();

 private:
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read_some(beast::error_code ec, std::size_t bytes);
  void on_read_rest(beast::error_code ec, std::size_t bytes);
  void on_read_error(beast::error_code ec);
  void on_message(std::string_view text);
  void on_control(beast::websocket::frame_type kind);
  bool take_token(TokenBucket::Clock::time_point now, bool control_frame);
  void continue_reading();
  void handle_text(std::string_view text, TokenBucket::Clock::time_point now);
  bool clock_sync(protocol::Command& command);
  void send_error(protocol::ErrorCode code, std::string message);
  void on_written(beast::error_code ec, std::size_t frames, std::size_t bytes) override;
  void on_overflow() override;
  void do_close();
  void finish(cluster::CloseKind kind, std::uint16_t code);
  cluster::CloseKind end_kind() const noexcept;
  void abort_after(std::chrono::milliseconds delay);

  beast::websocket::stream<FrameSocket> ws_;
  Server& server_;
  std::weak_ptr<void> server_alive_;
  cluster::ConnectionInfo info_;
  // A message is read into small_ first; one that does not fit continues in buffer_,
  // which is released after it (idle connections hold no read buffer on the heap).
  static constexpr std::size_t kSmallMessageBytes = 256;
  std::array<char, kSmallMessageBytes> small_;
  beast::flat_buffer buffer_;
  TokenBucket bucket_;        // messages and ping/pong frames
  TokenBucket relay_bucket_;  // bytes of pass-through messages (relays, fallback broadcasts)
  // Clock sync (docs/SYNC.md): answered here, timed from when the read completed.
  room::ClockExchange clock_;
  double read_wall_ms_ = 0;
  double read_steady_ms_ = 0;
  static constexpr std::chrono::seconds kRefusalWindow{10};
  TokenBucket::Clock::time_point refusal_window_start_{};
  std::uint32_t refused_in_window_ = 0;
  std::uint16_t close_code_ = 1000;
  std::string close_reason_;
  std::unique_ptr<asio::steady_timer> abort_timer_;  // only while a close is stuck
  std::uint64_t last_active_tick_ = 0;
  bool registered_ = false;
  bool reading_ = false;
  bool read_paused_ = false;  // back-pressure: reading waits for the queue to drain
  bool closing_ = false;   // no more frames accepted; close after the queue
  bool finished_ = false;  // the room layer has been told the connection ended
  bool idle_expired_ = false;
};

}  // namespace tandem::net
