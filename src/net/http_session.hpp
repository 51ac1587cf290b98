#pragma once
// A plain HTTP/1.1 connection: reads requests (keep-alive), answers them through
// HttpRoutes, and hands a WebSocket upgrade on /ws to a WsSession. The Server's admission
// policy (HttpAdmission) is told what the connection waits for, and may evict it.
#include "net/http_routes.hpp"
#include "net/request_checks.hpp"
#include "net/types.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <memory>
#include <optional>

namespace tandem::net {

class Server;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Server& server, std::uint64_t id,
              asio::ip::address peer);
  ~HttpSession();
  void run();
  // Closes the socket: pending operations complete with an error (eviction, shutdown).
  void abort();

 private:
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void upgrade(HttpRequest request);
  void refuse(const Refusal& refusal);
  void write(HttpResponse response);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void linger();
  void do_linger(std::size_t drained);

  Stream stream_;
  Server& server_;
  std::weak_ptr<void> server_alive_;
  std::uint64_t id_;
  asio::ip::address peer_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;  // kept alive while it is written
};

}  // namespace tandem::net
