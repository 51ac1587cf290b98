#include "net/http_session.hpp"

#include "net/server.hpp"
#include "net/ws_session.hpp"

#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace tandem::net {

namespace http = beast::http;

namespace {
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 8 * 1024;  // no endpoint takes a body
}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, Server& server)
    : stream_(std::move(socket)), server_(server), server_alive_(server.liveness()) {
  beast::error_code ec;
  const auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = endpoint.address().to_string();
  server_.http_opened(this);
}

HttpSession::~HttpSession() {
  if (!server_alive_.expired()) server_.http_closed(this);
}

void HttpSession::abort() {
  beast::error_code ignored;
  stream_.socket().close(ignored);
}

void HttpSession::run() { do_read(); }

void HttpSession::do_read() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  parser_->body_limit(kMaxBodyBytes);
  stream_.expires_after(server_.config().handshake_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) return;  // closed, timed out or malformed: drop the connection quietly
  HttpRequest request = parser_->release();
  const std::string_view target(request.target().data(), request.target().size());

  if (beast::websocket::is_upgrade(request)) {
    auto& routes = server_.routes();
    if (path_of(target) != "/ws") {
      write(routes.refuse_upgrade(request, http::status::not_found, "WebSocket endpoint is /ws"));
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
    // The connection stops being an HTTP session: the WebSocket session owns it now.
    std::make_shared<WsSession>(stream_.release_socket(), server_, remote_)->run(std::move(request));
    return;
  }
  // remote_ is the client's address for every per-address limit behind this route.
  server_.routes().handle(request, remote_, [self = shared_from_this()](HttpResponse response) {
    self->write(std::move(response));
  });
}

void HttpSession::write(HttpResponse response) {
  response_ = std::make_shared<HttpResponse>(std::move(response));
  const bool keep_alive = response_->keep_alive() && !server_.draining();
  response_->keep_alive(keep_alive);
  stream_.expires_after(server_.config().handshake_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&HttpSession::on_write, shared_from_this(),
                                              keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  response_.reset();
  if (ec) return;
  if (!keep_alive) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  do_read();
}

}  // namespace tandem::net
