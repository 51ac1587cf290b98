#include "support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>

namespace tandem::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

std::string shorten(std::string_view text, std::size_t max = 400) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...(" + std::to_string(text.size()) + " bytes)";
}

std::string type_of(const std::optional<boost::json::object>& message) {
  if (!message) return "";
  const auto* type = message->if_contains("type");
  if (type == nullptr || !type->is_string()) return "";
  return std::string(type->get_string());
}

bool listed(const std::vector<std::string>& list, std::string_view value) {
  for (const auto& item : list) {
    if (item == value) return true;
  }
  return false;
}

}  // namespace

std::string WsEvent::describe() const {
  switch (kind) {
    case Kind::message:
      return std::string(binary ? "binary message " : "message ") + shorten(text);
    case Kind::closed:
      return "close (code " + std::to_string(close_code) +
             (close_reason.empty() ? "" : ", reason \"" + close_reason + "\"") + ")";
    case Kind::timeout:
      return "nothing (deadline passed)";
  }
  return "?";
}

struct WsClient::Impl {
  asio::io_context ioc{1};
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::deque<WsEvent> inbox;
  bool reading = false;
  bool open = false;   // handshake done and the read side has not ended
  bool ended = false;  // the read side has ended (close or failure)

  // Runs the io_context until `done()` or the deadline. Returns done().
  bool pump(Clock::time_point deadline, const std::function<bool()>& done) {
    while (!done()) {
      if (ioc.stopped()) ioc.restart();
      const std::size_t ran = ioc.run_one_until(deadline);
      if (ran == 0) {
        if (Clock::now() >= deadline) return done();
        if (ioc.stopped()) return done();  // nothing left that could make progress
      }
    }
    return true;
  }

  // An operation did not finish in time: its handler refers to the caller's locals, so end
  // the connection and let the handler run before the caller returns or throws.
  void abort(const std::function<bool()>& done) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    pump(Clock::now() + Millis(2000), done);
    open = false;
  }

  enum class Framing { text, binary, raw };

  // Writes `bytes` (a WebSocket text or binary message, or raw bytes on the TCP socket)
  // and waits up to kTimeout. nullopt: it did not complete in time (the connection is
  // then aborted); otherwise the write's error code.
  std::optional<beast::error_code> write(std::string_view bytes, Framing framing) {
    const std::string payload(bytes);
    bool done = false;
    beast::error_code op_ec;
    const auto on_done = [&](beast::error_code e, std::size_t) {
      op_ec = e;
      done = true;
    };
    if (framing == Framing::raw) {
      asio::async_write(beast::get_lowest_layer(ws).socket(), asio::buffer(payload), on_done);
    } else {
      ws.binary(framing == Framing::binary);
      ws.async_write(asio::buffer(payload), on_done);
    }
    const bool completed = pump(Clock::now() + kTimeout, [&] { return done; });
    if (!completed) abort([&] { return done; });
    ws.text(true);
    if (!completed) return std::nullopt;
    return op_ec;
  }

  void start_read() {
    reading = true;
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t) { on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    reading = false;
    if (!ec) {
      WsEvent event;
      event.kind = WsEvent::Kind::message;
      event.binary = !ws.got_text();
      event.text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      if (!event.binary) {
        boost::system::error_code parse_ec;
        auto value = boost::json::parse(event.text, parse_ec);
        if (!parse_ec && value.is_object()) event.message = std::move(value.as_object());
      }
      inbox.push_back(std::move(event));
      start_read();
      return;
    }
    open = false;
    ended = true;
    WsEvent event;
    event.kind = WsEvent::Kind::closed;
    const auto& reason = ws.reason();
    if (ec == websocket::error::closed) {
      event.close_code = reason.code == websocket::close_code::none ? 1005 : reason.code;
      event.close_reason = std::string(reason.reason.data(), reason.reason.size());
    } else if (reason.code != websocket::close_code::none) {
      // The peer's close frame arrived, then the TCP connection failed (e.g. our close
      // reply hit a reset): the peer's code is still what it said.
      event.close_code = reason.code;
      event.close_reason = std::string(reason.reason.data(), reason.reason.size());
    } else {
      event.close_code = 1006;
      event.close_reason = ec.message();
    }
    inbox.push_back(std::move(event));
  }
};

namespace {

// The clients alive in this process, for read_until_closed_all().
std::mutex live_mutex;
std::set<WsClient*> live_clients;

}  // namespace

WsClient::WsClient(std::string name) : name_(std::move(name)), impl_(std::make_unique<Impl>()) {
  const std::lock_guard lock(live_mutex);
  live_clients.insert(this);
}

void WsClient::read_until_closed_all(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<WsClient*> clients;
  {
    const std::lock_guard lock(live_mutex);
    clients.assign(live_clients.begin(), live_clients.end());
  }
  for (WsClient* client : clients) {
    Impl& impl = *client->impl_;
    if (!impl.open) continue;
    impl.pump(deadline, [&] { return impl.ended; });
  }
}

WsClient::~WsClient() {
  {
    const std::lock_guard lock(live_mutex);
    live_clients.erase(this);
  }
  beast::error_code ignored;
  auto& socket = beast::get_lowest_layer(impl_->ws).socket();
  if (socket.is_open()) {
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
  // Let the aborted operations complete while every member is alive; what is left (timers
  // inside the stream) is destroyed with the io_context without being invoked.
  impl_->ioc.restart();
  impl_->ioc.poll();
}

bool WsClient::is_open() const noexcept {
  return impl_->open;
}

void WsClient::fail(const std::source_location& where, const std::string& message) const {
  fail_at(where,
          "[" + name_ + "] " + message + "\nreceived so far by " + name_ + ":\n" + transcript());
}

std::string WsClient::transcript(std::size_t last) const {
  std::string out;
  const std::size_t first = received_.size() > last ? received_.size() - last : 0;
  if (first > 0) out += "  ... (" + std::to_string(first) + " earlier)\n";
  for (std::size_t i = first; i < received_.size(); ++i) out += "  " + received_[i] + "\n";
  if (received_.empty()) out += "  (nothing)\n";
  return out;
}

ConnectResult WsClient::connect(std::uint16_t port, ConnectOptions options) {
  Impl& impl = *impl_;
  ConnectResult result;
  const auto deadline = Clock::now() + options.timeout;
  auto& stream = beast::get_lowest_layer(impl.ws);
  beast::error_code ec;
  stream.socket().open(tcp::v4(), ec);
  if (ec) {
    result.error = "socket: " + ec.message();
    return result;
  }
  if (options.receive_buffer_bytes > 0) {
    stream.socket().set_option(asio::socket_base::receive_buffer_size(options.receive_buffer_bytes),
                               ec);
  }
  if (!options.local_address.empty()) {
    const auto local = asio::ip::make_address_v4(options.local_address, ec);
    if (!ec) stream.socket().bind(tcp::endpoint(local, 0), ec);
    if (ec) {
      result.error = "bind " + options.local_address + ": " + ec.message();
      stream.socket().close(ec);
      return result;
    }
  }
  bool done = false;
  beast::error_code op_ec;
  stream.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port),
                       [&](beast::error_code e) {
                         op_ec = e;
                         done = true;
                       });
  if (!impl.pump(deadline, [&] { return done; })) {
    stream.socket().close(ec);
    impl.pump(deadline + Millis(200), [&] { return done; });
    result.error = "connect: deadline passed";
    return result;
  }
  if (op_ec) {
    result.error = "connect: " + op_ec.message();
    return result;
  }
  stream.socket().set_option(tcp::no_delay(true), ec);

  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  impl.ws.set_option(timeouts);
  impl.ws.auto_fragment(false);
  impl.ws.set_option(
      websocket::stream_base::decorator([headers = options.headers](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, "tandem-integration-tests");
        for (const auto& [name, value] : headers) req.set(name, value);
      }));

  websocket::response_type response;
  done = false;
  impl.ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), options.target,
                          [&](beast::error_code e) {
                            op_ec = e;
                            done = true;
                          });
  if (!impl.pump(deadline, [&] { return done; })) {
    stream.socket().close(ec);
    impl.pump(deadline + Millis(200), [&] { return done; });
    result.error = "handshake: deadline passed";
    return result;
  }
  result.http_status = static_cast<int>(response.result_int());
  result.body = response.body();
  if (op_ec) {
    result.error = "handshake: " + op_ec.message();
    stream.socket().close(ec);
    return result;
  }
  result.ok = true;
  impl.open = true;
  impl.start_read();
  return result;
}

void WsClient::send_text(std::string_view text, std::source_location where) {
  Impl& impl = *impl_;
  if (!impl.open) fail(where, "send_text on a connection that is not open");
  const auto result = impl.write(text, Impl::Framing::text);
  if (!result) {
    fail(where, "sending a text frame of " + std::to_string(text.size()) +
                    " bytes did not complete in time");
  }
  if (*result) fail(where, "sending a text frame failed: " + result->message());
}

bool WsClient::try_send_text(std::string_view text) {
  if (!impl_->open) return false;
  const auto result = impl_->write(text, Impl::Framing::text);
  return result && !*result;
}

bool WsClient::try_send_raw(std::string_view bytes) {
  const auto result = impl_->write(bytes, Impl::Framing::raw);
  return result && !*result;
}

void WsClient::send_binary(std::string_view bytes, std::source_location where) {
  Impl& impl = *impl_;
  if (!impl.open) fail(where, "send_binary on a connection that is not open");
  const auto result = impl.write(bytes, Impl::Framing::binary);
  if (!result) fail(where, "sending a binary frame did not complete in time");
  if (*result) fail(where, "sending a binary frame failed: " + result->message());
}

void WsClient::send_json(const boost::json::object& message, std::source_location where) {
  send_text(boost::json::serialize(message), where);
}

void WsClient::send_raw(std::string_view bytes, std::source_location where) {
  const auto result = impl_->write(bytes, Impl::Framing::raw);
  if (!result) fail(where, "writing raw bytes did not complete in time");
  if (*result) fail(where, "writing raw bytes failed: " + result->message());
}

void WsClient::shutdown_send() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().shutdown(tcp::socket::shutdown_send, ignored);
}

WsEvent WsClient::recv_event(Millis timeout) {
  Impl& impl = *impl_;
  impl.pump(Clock::now() + timeout, [&] { return !impl.inbox.empty(); });
  if (impl.inbox.empty()) return WsEvent{};
  if (impl.inbox.front().kind == WsEvent::Kind::closed) {
    // A close is a lasting state: it stays queued, every later call sees it too.
    WsEvent event = impl.inbox.front();
    if (!close_recorded_) {
      close_recorded_ = true;
      close_reason_ = event.close_reason;
      received_.push_back("<" + event.describe() + ">");
    }
    return event;
  }
  WsEvent event = std::move(impl.inbox.front());
  impl.inbox.pop_front();
  received_.push_back(shorten(event.text, 300));
  return event;
}

std::optional<boost::json::object> WsClient::recv(Millis timeout) {
  WsEvent event = recv_event(timeout);
  if (event.kind != WsEvent::Kind::message || !event.message) return std::nullopt;
  return std::move(event.message);
}

boost::json::object WsClient::next(Millis timeout, std::source_location where) {
  WsEvent event = recv_event(timeout);
  if (event.kind != WsEvent::Kind::message) {
    fail(where, "expected a message, got " + event.describe());
  }
  if (!event.message) fail(where, "expected a JSON object, got " + event.describe());
  return std::move(*event.message);
}

boost::json::object WsClient::expect(std::string_view type, Millis timeout,
                                     const std::vector<std::string>& skip,
                                     std::source_location where) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    WsEvent event = recv_event(std::max(left, Millis(0)));
    if (event.kind != WsEvent::Kind::message) {
      fail(where, "expected " + std::string(type) + ", got " + event.describe());
    }
    const std::string got = type_of(event.message);
    if (got == type) return std::move(*event.message);
    if (!got.empty() && listed(skip, got)) {
      skipped_.push_back(std::move(*event.message));
      continue;
    }
    fail(where, "expected " + std::string(type) + ", got " + event.describe());
  }
}

boost::json::object WsClient::wait_for(std::string_view type, Millis timeout,
                                       std::source_location where) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    WsEvent event = recv_event(std::max(left, Millis(0)));
    if (event.kind != WsEvent::Kind::message) {
      fail(where, "waited for " + std::string(type) + ", got " + event.describe());
    }
    if (type_of(event.message) == type) return std::move(*event.message);
    if (event.message) skipped_.push_back(std::move(*event.message));
  }
}

void WsClient::expect_no_message(Millis window, const std::vector<std::string>& ignore,
                                 std::source_location where) {
  const auto deadline = Clock::now() + window;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left <= Millis(0)) return;
    WsEvent event = recv_event(left);
    if (event.kind == WsEvent::Kind::timeout) return;
    if (event.kind == WsEvent::Kind::message && listed(ignore, type_of(event.message))) continue;
    fail(where,
         "expected nothing for " + std::to_string(window.count()) + " ms, got " + event.describe());
  }
}

void WsClient::close(std::uint16_t code, std::string_view reason, std::source_location where) {
  Impl& impl = *impl_;
  if (!impl.open) fail(where, "close on a connection that is not open");
  bool done = false;
  beast::error_code op_ec;
  impl.ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                      [&](beast::error_code e) {
                        op_ec = e;
                        done = true;
                      });
  if (!impl.pump(Clock::now() + kTimeout, [&] { return done && !impl.reading; })) {
    impl.abort([&] { return done; });
    fail(where, "the closing handshake did not complete in time");
  }
  impl.open = false;
}

void WsClient::drop() {
  Impl& impl = *impl_;
  beast::error_code ignored;
  auto& socket = beast::get_lowest_layer(impl.ws).socket();
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  impl.pump(Clock::now() + Millis(500), [&] { return !impl.reading; });
  impl.open = false;
}

int WsClient::wait_closed(Millis timeout, std::source_location where) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    WsEvent event = recv_event(std::max(left, Millis(0)));
    if (event.kind == WsEvent::Kind::closed) return event.close_code;
    if (event.kind == WsEvent::Kind::timeout) {
      fail(where, "expected the connection to close within " + std::to_string(timeout.count()) +
                      " ms; it is still open");
    }
    if (event.message) skipped_.push_back(std::move(*event.message));
  }
}

std::string ws_frame(std::uint8_t opcode, std::string_view payload, bool fin, bool mask,
                     std::optional<std::uint64_t> declared_length) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0F)));
  const std::uint64_t length = declared_length.value_or(payload.size());
  const char mask_bit = mask ? static_cast<char>(0x80) : 0;
  if (length < 126) {
    out.push_back(static_cast<char>(mask_bit | static_cast<char>(length)));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>((length >> 8) & 0xFF));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((length >> shift) & 0xFF));
    }
  }
  if (!mask) {
    out.append(payload);
    return out;
  }
  static thread_local std::mt19937 rng{std::random_device{}()};
  unsigned char key[4];
  for (auto& k : key) k = static_cast<unsigned char>(rng() & 0xFF);
  out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]));
  }
  return out;
}

}  // namespace tandem::test
