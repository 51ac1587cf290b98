#include "support/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <functional>

namespace tandem::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool pump(asio::io_context& ioc, Clock::time_point deadline, const std::function<bool()>& done) {
  while (!done()) {
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one_until(deadline) == 0) {
      if (Clock::now() >= deadline || ioc.stopped()) return done();
    }
  }
  return true;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpResponse::has_header(std::string_view name) const {
  return headers.count(lower(name)) != 0;
}

boost::json::value HttpResponse::json(std::source_location where) const {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec) fail_at(where, "the response body is not JSON: " + describe());
  return value;
}

boost::json::object HttpResponse::json_object(std::source_location where) const {
  auto value = json(where);
  if (!value.is_object()) fail_at(where, "the response body is not a JSON object: " + describe());
  return std::move(value.as_object());
}

std::string HttpResponse::describe() const {
  std::string out = "HTTP " + std::to_string(status) + "\n";
  for (const auto& [name, value] : headers) out += "  " + name + ": " + value + "\n";
  out += body.size() > 2000 ? body.substr(0, 2000) + "..." : body;
  return out;
}

struct HttpConnection::Impl {
  asio::io_context ioc{1};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::uint16_t port = 0;
};

namespace {

// An operation did not finish in time: its handler refers to the caller's locals, so close
// the socket and let the handler run before the caller throws.
void abort_pending(HttpConnection::Impl& impl, const std::function<bool()>& done) {
  beast::error_code ignored;
  impl.stream.socket().close(ignored);
  pump(impl.ioc, Clock::now() + Millis(2000), done);
}

}  // namespace

HttpConnection::HttpConnection() : impl_(std::make_unique<Impl>()) {}

HttpConnection::~HttpConnection() {
  beast::error_code ignored;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->stream.socket().close(ignored);
  impl_->ioc.restart();
  impl_->ioc.poll();
}

void HttpConnection::connect(std::uint16_t port, std::source_location where,
                             const std::string& local_address) {
  impl_->port = port;
  bool done = false;
  beast::error_code op_ec;
  if (!local_address.empty()) {
    tcp::socket& socket = impl_->stream.socket();
    socket.open(tcp::v4(), op_ec);
    if (!op_ec) socket.bind(tcp::endpoint(asio::ip::make_address_v4(local_address), 0), op_ec);
    if (op_ec) fail_at(where, "HTTP bind to " + local_address + ": " + op_ec.message());
  }
  impl_->stream.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port),
                              [&](beast::error_code e) {
                                op_ec = e;
                                done = true;
                              });
  if (!pump(impl_->ioc, Clock::now() + kTimeout, [&] { return done; })) {
    abort_pending(*impl_, [&] { return done; });
    fail_at(where, "HTTP connect to port " + std::to_string(port) + " timed out");
  }
  if (op_ec)
    fail_at(where, "HTTP connect to port " + std::to_string(port) + ": " + op_ec.message());
}

HttpResponse HttpConnection::request(std::string_view method, std::string_view target,
                                     const Headers& headers, Millis timeout,
                                     std::source_location where) {
  return send(method, target, headers, std::string(), true, timeout, where);
}

HttpResponse HttpConnection::send(std::string_view method, std::string_view target,
                                  const Headers& headers, std::string body, bool keep_alive,
                                  Millis timeout, std::source_location where) {
  Impl& impl = *impl_;
  http::request<http::string_body> req;
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(impl.port));
  req.set(http::field::user_agent, "tandem-integration-tests");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.keep_alive(keep_alive);
  req.body() = std::move(body);
  req.prepare_payload();

  const auto deadline = Clock::now() + timeout;
  bool done = false;
  beast::error_code op_ec;
  http::async_write(impl.stream, req, [&](beast::error_code e, std::size_t) {
    op_ec = e;
    done = true;
  });
  if (!pump(impl.ioc, deadline, [&] { return done; })) {
    abort_pending(impl, [&] { return done; });
    fail_at(where, "writing " + std::string(method) + " " + std::string(target) + " timed out");
  }
  if (op_ec) {
    fail_at(where,
            "writing " + std::string(method) + " " + std::string(target) + ": " + op_ec.message());
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  done = false;
  http::async_read(impl.stream, impl.buffer, parser, [&](beast::error_code e, std::size_t) {
    op_ec = e;
    done = true;
  });
  if (!pump(impl.ioc, deadline, [&] { return done; })) {
    abort_pending(impl, [&] { return done; });
    fail_at(where, "no response to " + std::string(method) + " " + std::string(target) +
                       " within " + std::to_string(timeout.count()) + " ms");
  }
  if (op_ec) {
    fail_at(where, "reading the response to " + std::string(method) + " " + std::string(target) +
                       ": " + op_ec.message());
  }
  auto res = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers[lower(std::string_view(field.name_string().data(), field.name_string().size()))] =
        std::string(field.value());
  }
  out.body = std::move(res.body());
  return out;
}

HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          const Headers& headers, std::string body, Millis timeout,
                          std::source_location where) {
  HttpConnection connection;  // one request, then closed (Connection: close)
  connection.connect(port, where);
  return connection.send(method, target, headers, std::move(body), false, timeout, where);
}

HttpResponse http_get_from(std::string local_address, std::uint16_t port, std::string_view target,
                           const Headers& headers, std::source_location where) {
  HttpConnection connection;
  connection.connect(port, where, local_address);
  return connection.send("GET", target, headers, std::string(), false, kTimeout, where);
}

std::optional<Millis> time_until_server_closes(std::uint16_t port, std::string_view bytes,
                                               Millis timeout) {
  asio::io_context ioc{1};
  tcp::socket socket{ioc};
  bool done = false;
  beast::error_code op_ec;
  socket.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port),
                       [&](beast::error_code e) {
                         op_ec = e;
                         done = true;
                       });
  if (!pump(ioc, Clock::now() + kTimeout, [&] { return done; }) || op_ec) return Millis(0);
  const std::string payload(bytes);
  if (!payload.empty()) {
    done = false;
    asio::async_write(socket, asio::buffer(payload), [&](beast::error_code e, std::size_t) {
      op_ec = e;
      done = true;
    });
    if (!pump(ioc, Clock::now() + kTimeout, [&] { return done; }) || op_ec) return Millis(0);
  }
  const auto start = Clock::now();
  char sink[4096];
  bool closed = false;
  std::function<void()> read_more;
  read_more = [&] {
    socket.async_read_some(asio::buffer(sink), [&](beast::error_code e, std::size_t) {
      if (e) {
        closed = true;
        return;
      }
      read_more();  // whatever the server says before closing (e.g. a 408) is ignored
    });
  };
  read_more();
  const bool ended = pump(ioc, start + timeout, [&] { return closed; });
  const auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - start);
  if (!ended) {
    beast::error_code ignored;
    socket.close(ignored);
    pump(ioc, Clock::now() + Millis(500), [&] { return closed; });
    return std::nullopt;
  }
  return elapsed;
}

HttpResponse http_get(std::uint16_t port, std::string_view target, const Headers& headers,
                      Millis timeout, std::source_location where) {
  return http_request(port, "GET", target, headers, {}, timeout, where);
}

}  // namespace tandem::test
