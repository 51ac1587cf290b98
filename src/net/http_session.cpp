#include "net/http_session.hpp"

#include "net/server.hpp"
#include "net/ws_session.hpp"

#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace tandem::net {

namespace http = beast::http;

namespace {
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 8 * 1024;  // no endpoint takes a body
// After the last response of a connection, what the client still sends is read and
// dropped for a while before the socket closes: closing with unread bytes would reset the
// connection, and a reset can destroy the response before the client reads it.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerBytes = 64 * 1024;

// Every X-Forwarded-For line of the request, joined as one list.
std::string forwarded_for(const HttpRequest& request) {
  std::string out;
  const auto [first, last] = request.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    if (!out.empty()) out += ',';
    out.append(it->value().data(), it->value().size());
  }
  return out;
}
}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, Server& server, std::uint64_t id,
                         asio::ip::address peer)
    : stream_(std::move(socket)),
      server_(server),
      server_alive_(server.liveness()),
      id_(id),
      peer_(peer) {}

HttpSession::~HttpSession() {
  if (!server_alive_.expired()) server_.http_closed(id_);
}

void HttpSession::abort() {
  beast::error_code ignored;
  stream_.socket().close(ignored);
}

// The Server admitted the connection as waiting for its first request.
void HttpSession::run() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  parser_->body_limit(kMaxBodyBytes);
  stream_.expires_after(server_.config().request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::do_read() {
  server_.http_waiting_request(id_);  // may evict an older connection of the same peer
  run();
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec == beast::error::timeout) server_.metrics().http_timeouts.inc();
    if (const auto refusal = refusal_for_read_error(ec)) refuse(*refusal);
    return;  // otherwise closed, timed out or evicted: nobody to answer
  }
  server_.http_busy(id_);
  const bool chunked = parser_->chunked();
  HttpRequest request = parser_->release();
  if (const auto refusal = refusal_for_request(request, chunked)) {
    refuse(*refusal);
    return;
  }
  if (beast::websocket::is_upgrade(request)) {
    upgrade(std::move(request));
    return;
  }
  // The client's address (behind TRUSTED_PROXIES, from X-Forwarded-For) for every
  // per-address limit behind this route.
  const std::string client = server_.client_address(peer_, forwarded_for(request));
  server_.routes().handle(request, client, [self = shared_from_this()](HttpResponse response) {
    self->write(std::move(response));
  });
}

void HttpSession::upgrade(HttpRequest request) {
  auto& routes = server_.routes();
  const std::string_view target(request.target().data(), request.target().size());
  if (path_of(target) != "/ws") {
    write(routes.refuse_upgrade(request, http::status::not_found, "WebSocket endpoint is /ws"));
    return;
  }
  std::string client = server_.client_address(peer_, forwarded_for(request));
  const auto origin = request[http::field::origin];
  if (!server_.check_origin(std::string_view(origin.data(), origin.size()), client)) {
    write(routes.refuse_upgrade(request, http::status::forbidden,
                                "Origin not allowed: this server accepts WebSocket connections "
                                "only from the origins in its ALLOWED_ORIGINS"));
    return;
  }
  if (server_.draining()) {
    server_.metrics().rejected_draining.inc();
    write(routes.refuse_upgrade(request, http::status::service_unavailable, "Server is draining"));
    return;
  }
  if (!server_.can_accept_session()) {
    server_.metrics().rejected_full.inc();
    write(routes.refuse_upgrade(request, http::status::service_unavailable, "Server is full"));
    return;
  }
  if (!server_.reserve_client(client)) {
    server_.metrics().rejected_per_ip.inc();
    write(routes.refuse_upgrade(request, http::status::too_many_requests,
                                "Too many connections from this address"));
    return;
  }
  // The connection stops being an HTTP session: the WebSocket session owns it now (and the
  // reservation of its client address).
  std::make_shared<WsSession>(stream_.release_socket(), server_, std::move(client))
      ->run(std::move(request));
}

void HttpSession::refuse(const Refusal& refusal) {
  server_.metrics().http_bad_requests[std::to_string(static_cast<unsigned>(refusal.status))].inc();
  write(server_.routes().refuse(refusal.status, refusal.why));
}

void HttpSession::write(HttpResponse response) {
  response_ = std::make_shared<HttpResponse>(std::move(response));
  const bool keep_alive = response_->keep_alive() && !server_.draining();
  response_->keep_alive(keep_alive);
  server_.http_writing(id_);
  stream_.expires_after(server_.config().handshake_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&HttpSession::on_write, shared_from_this(),
                                              keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return;
  if (!keep_alive) {
    linger();
    return;
  }
  do_read();
}

void HttpSession::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTime);
  buffer_.clear();
  do_linger(0);
}

void HttpSession::do_linger(std::size_t drained) {
  if (drained >= kLingerBytes) return;
  stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this(), drained](
                                                     beast::error_code ec, std::size_t bytes) {
    if (!ec) self->do_linger(drained + bytes);  // EOF, timeout or reset: done, close
  });
}

}  // namespace tandem::net
