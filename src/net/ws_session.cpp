#include "net/ws_session.hpp"

#include "net/server.hpp"
#include "obs/clock.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/limits.hpp"

#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/error.hpp>

#include <array>
#include <cstring>
#include <random>

namespace tandem::net {

namespace websocket = beast::websocket;

namespace {

// RFC 4122 version 4 UUID. Peer ids need to be unique, not secret.
std::string make_peer_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 8) {
    const std::uint64_t r = rng();
    for (std::size_t j = 0; j < 8; ++j) b[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

std::string code_label(std::uint16_t code) { return std::to_string(code); }

}  // namespace

WsSession::WsSession(tcp::socket&& socket, Server& server, std::string client_address)
    : ws_(std::move(socket)),
      server_(server),
      server_alive_(server.liveness()),
      bucket_(server.config().rate_per_second, server.config().rate_burst,
              TokenBucket::Clock::now()),
      relay_bucket_(server.config().relay_bytes_per_second, server.config().relay_bytes_burst,
                    TokenBucket::Clock::now()) {
  info_.peer_id = make_peer_id();
  info_.remote_address = std::move(client_address);
}

WsSession::~WsSession() {
  if (server_alive_.expired()) return;
  if (registered_) server_.remove_session(info_.id);
  server_.release_client(info_.remote_address);
}

void WsSession::abort() {
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).close(ignored);
}

void WsSession::run(Request request) {
  const NetConfig& config = server_.config();
  ws_.next_layer().set_listener(this, weak_from_this());
  ws_.next_layer().set_limits(config.send_queue_max_bytes, config.send_queue_max_messages);
  // Pings and pongs cost a token like messages (Beast answers pings inside the read, so a
  // ping flood never reaches on_message). Called only inside a read, which holds the session.
  ws_.control_callback(
      [this](websocket::frame_type kind, beast::string_view) { on_control(kind); });
  // Beast times the opening and closing handshakes; silence once open is the Server's
  // idle wheel (Beast's idle timeout would keep a timer per connection and re-arm it for
  // every message read).
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = config.handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "tandem-server"); }));
  ws_.read_message_max(protocol::kMaxFrameBytes);
  ws_.auto_fragment(false);
  ws_.async_accept(request, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) return;  // a failed handshake is the client's problem, not an error log
  info_.id = server_.add_session(this);
  registered_ = true;
  last_active_tick_ = server_.idle_tick();
  server_.watch_idle(info_.id);
  do_read();
}

// Most messages are small (PLAY_PAUSE is ~150 bytes): a read starts into the session's
// fixed small buffer, so an idle connection's pending read holds no heap buffer. Only a
// message that does not fit (an SDP) continues into buffer_, which is released after it.
void WsSession::do_read() {
  if (reading_ || finished_) return;
  reading_ = true;
  ws_.async_read_some(asio::buffer(small_),
                      beast::bind_front_handler(&WsSession::on_read_some, shared_from_this()));
}

void WsSession::on_read_some(beast::error_code ec, std::size_t bytes) {
  reading_ = false;
  if (ec) {
    on_read_error(ec);
    return;
  }
  server_.metrics().bytes_in.inc(bytes);
  read_wall_ms_ = obs::wall_clock_ms_precise();
  read_steady_ms_ = obs::steady_clock_ms();
  if (ws_.is_message_done()) {
    on_message(std::string_view(small_.data(), bytes));
    return;
  }
  const auto part = buffer_.prepare(bytes);
  std::memcpy(part.data(), small_.data(), bytes);
  buffer_.commit(bytes);
  reading_ = true;
  ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read_rest, shared_from_this()));
}

void WsSession::on_read_rest(beast::error_code ec, std::size_t bytes) {
  reading_ = false;
  if (ec) {
    buffer_.clear();
    buffer_.shrink_to_fit();
    on_read_error(ec);
    return;
  }
  server_.metrics().bytes_in.inc(bytes);
  read_wall_ms_ = obs::wall_clock_ms_precise();
  read_steady_ms_ = obs::steady_clock_ms();
  const auto data = buffer_.cdata();
  on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
  // A large message must not pin its buffer for the connection's lifetime.
  buffer_.clear();
  buffer_.shrink_to_fit();
}

void WsSession::on_read_error(beast::error_code ec) {
  if (idle_expired_) {  // the read failed because expire_idle closed the socket
    finish(cluster::CloseKind::stale, 1006);
    return;
  }
  cluster::CloseKind kind = end_kind();
  std::uint16_t code = 1006;
  if (ec == websocket::error::closed) {
    code = closing_ ? close_code_ : static_cast<std::uint16_t>(ws_.reason().code);
  } else if (ec == websocket::error::message_too_big) {
    code = 1009;
  } else if (ec == websocket::error::bad_frame_payload) {
    code = 1007;
  } else if (closing_) {
    code = close_code_;
  }
  finish(kind, code);
}

// One whole message; `text` is valid until the next read starts.
void WsSession::on_message(std::string_view text) {
  last_active_tick_ = server_.idle_tick();
  if (closing_) {  // after we decided to close, input is only read to see the close reply
    do_read();
    return;
  }
  if (!ws_.got_text()) {
    close(1003, "binary frames are not supported");
    do_read();
    return;
  }
  const auto now = TokenBucket::Clock::now();
  if (take_token(now, false)) handle_text(text, now);
  continue_reading();
}

// Back-pressure: a client that does not read its own answers stops being read.
void WsSession::continue_reading() {
  if (ws_.next_layer().queued_bytes() <= server_.config().send_queue_max_bytes / 2) {
    do_read();
  } else {
    read_paused_ = true;
  }
}

// A ping or pong frame (a close frame is Beast's business). Not activity for the idle
// timeout: only messages are.
void WsSession::on_control(websocket::frame_type kind) {
  if (kind == websocket::frame_type::close) return;
  server_.metrics().control_in[kind == websocket::frame_type::ping ? "ping" : "pong"].inc();
  if (closing_ || finished_) return;
  take_token(TokenBucket::Clock::now(), true);
}

// Refusals are counted per window, not per streak: a flood that the bucket lets through a
// message now and then is still a flood. One ERROR per window; more than a burst's worth
// of refusals in one window closes the connection.
bool WsSession::take_token(TokenBucket::Clock::time_point now, bool control_frame) {
  if (bucket_.take(now)) return true;
  server_.metrics().rate_limited.inc();
  if (now - refusal_window_start_ >= kRefusalWindow) {
    refusal_window_start_ = now;
    refused_in_window_ = 0;
  }
  ++refused_in_window_;
  if (refused_in_window_ == 1) {
    send_error(protocol::ErrorCode::rate_limited, "Too many messages: slow down");
  } else if (refused_in_window_ > server_.config().rate_burst) {
    if (control_frame) {
      // Inside Beast's read: start the closing handshake from a handler of its own.
      asio::post(ws_.get_executor(), [self = shared_from_this()] {
        self->close(1008, "rate limit exceeded");
      });
    } else {
      close(1008, "rate limit exceeded");
    }
  }
  return false;
}

void WsSession::handle_text(std::string_view text, TokenBucket::Clock::time_point now) {
  auto result = protocol::parse_command(text);
  if (auto* error = std::get_if<protocol::ProtocolError>(&result)) {
    server_.metrics().messages_in["invalid"].inc();
    send_error(error->code, std::move(error->message));
    return;
  }
  auto& command = std::get<protocol::Command>(result);
  server_.metrics().messages_in[protocol::command_type(command)].inc();
  if (!clock_sync(command)) return;
  // What this server forwards as sent (relays, fallback broadcasts) is paid for in bytes, so
  // that one member cannot fill the others' send queues (docs/SECURITY.md).
  const bool pass_through = std::holds_alternative<protocol::Relay>(command) ||
                            std::holds_alternative<protocol::Fallback>(command);
  if (pass_through && !relay_bucket_.take(now, static_cast<double>(text.size()))) {
    server_.metrics().relay_refused.inc();
    send_error(protocol::ErrorCode::rate_limited,
               "Too much relayed data: slow down (nothing was delivered)");
    return;
  }
  server_.rooms().on_command(info_, std::move(command));
}

// CLOCK_REQUEST is answered here, without the room (and without Redis in cluster mode): the
// receive time is when the read completed, the send time is taken just before encoding.
// CLOCK_ACKs time the connection's round trip; one reaches the room only when the estimate
// moved (and a JOIN carries it). False: the command was handled here.
bool WsSession::clock_sync(protocol::Command& command) {
  if (const auto* request = std::get_if<protocol::ClockRequest>(&command)) {
    const auto reply = clock_.answer(*request, read_wall_ms_, obs::wall_clock_ms_precise(),
                                     obs::steady_clock_ms());
    send(protocol::encode_frame(reply, obs::wall_clock_ms(), server_.config().node_id));
    server_.metrics().clock_replies.inc();
    return false;
  }
  return clock_.annotate(command, read_steady_ms_);
}

void WsSession::send_error(protocol::ErrorCode code, std::string message) {
  server_.metrics().errors[protocol::to_string(code)].inc();
  send(protocol::encode_frame(protocol::ErrorEvent{code, std::move(message)}, obs::wall_clock_ms(),
                              server_.config().node_id));
}

void WsSession::send(const protocol::Frame& frame) {
  if (closing_ || finished_) return;
  FrameSocket& out = ws_.next_layer();
  if (!out.fits(frame->size())) {
    on_overflow();
    return;
  }
  out.write_text(frame);
}

// The outbound queue passed a bound: with a data frame (send) or one of Beast's (a pong).
void WsSession::on_overflow() {
  if (closing_ || finished_) return;
  FrameSocket& out = ws_.next_layer();
  server_.metrics().queue_overflows.inc();
  server_.logger().info("slow_consumer_closed",
                        {{"peer", info_.peer_id},
                         {"remote", info_.remote_address},
                         {"queuedBytes", out.queued_bytes()},
                         {"queuedMessages", out.queued_frames()}});
  // Keep only what is being written; the client is closed, not silently skipped over.
  out.discard_unsent();
  close(1008, "client too slow: send queue limit exceeded");
}

void WsSession::on_written(beast::error_code ec, std::size_t frames, std::size_t bytes) {
  if (!ec) {
    NetMetrics& metrics = server_.metrics();
    metrics.writes.inc();
    metrics.frames_out.inc(frames);
    metrics.bytes_out.inc(bytes);
  }
  if (!registered_) return;  // the handshake response: the accept reports its own failure
  if (ec) {
    // A pending read sees the same failure and ends the session; with reading paused
    // (back-pressure) nothing else would tell the room layer.
    if (!reading_) finish(end_kind(), closing_ ? close_code_ : std::uint16_t{1006});
    return;
  }
  if (read_paused_ && !closing_ && !finished_ &&
      ws_.next_layer().queued_bytes() <= server_.config().send_queue_max_bytes / 4) {
    read_paused_ = false;
    do_read();  // back-pressure released
  }
}

void WsSession::close(std::uint16_t code, std::string_view reason) {
  if (closing_ || finished_) return;
  closing_ = true;
  close_code_ = code;
  close_reason_ = std::string(reason);
  // A peer that stops reading would hold the connection open forever: bound the wait.
  abort_after(server_.config().handshake_timeout);
  do_close();
}

// The close frame queues behind the frames already queued; the teardown (shutdown) waits
// until they are written (FrameSocket).
void WsSession::do_close() {
  ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
                  [self = shared_from_this()](beast::error_code) {
                    if (self->abort_timer_) self->abort_timer_->cancel();
                    if (!self->reading_) self->finish(self->end_kind(), self->close_code_);
                  });
}

void WsSession::expire_idle() {
  if (closing_ || finished_) return;  // a close in progress has its own deadline
  idle_expired_ = true;
  abort();
  if (!reading_) finish(cluster::CloseKind::stale, 1006);  // reading paused: no read to fail
}

void WsSession::abort_after(std::chrono::milliseconds delay) {
  abort_timer_ = std::make_unique<asio::steady_timer>(ws_.get_executor(), delay);
  abort_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).close(ignored);
  });
}

cluster::CloseKind WsSession::end_kind() const noexcept {
  return server_.draining() ? cluster::CloseKind::draining : cluster::CloseKind::network;
}

void WsSession::finish(cluster::CloseKind kind, std::uint16_t code) {
  if (finished_) return;
  finished_ = true;
  server_.metrics().closes[code_label(code)].inc();
  if (registered_) server_.rooms().on_close(info_, kind);
}

}  // namespace tandem::net
