#include "http_probe.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>

namespace tandem::bench {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

class Probe : public std::enable_shared_from_this<Probe> {
 public:
  Probe(boost::asio::io_context& io, std::string path, std::chrono::milliseconds timeout,
        std::function<void(int, std::string_view, std::size_t)> done)
      : stream_(io), timeout_(timeout), done_(std::move(done)) {
    response_.body_limit(64 << 20);
    request_.method(http::verb::get);
    request_.target(path);
    request_.version(11);
    request_.keep_alive(false);
  }

  void start(const tcp::endpoint& server) {
    request_.set(http::field::host, server.address().to_string());
    stream_.expires_after(timeout_);
    stream_.async_connect(server, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail("connect: " + ec.message());
      http::async_write(self->stream_, self->request_,
                        [self](beast::error_code error, std::size_t) {
                          if (error) return self->fail("write: " + error.message());
                          http::async_read(self->stream_, self->buffer_, self->response_,
                                           [self](beast::error_code e, std::size_t) {
                                             if (e) return self->fail("read: " + e.message());
                                             self->finish(self->response_.get().result_int(), {});
                                           });
                        });
    });
  }

 private:
  void fail(const std::string& error) { finish(0, error); }

  void finish(int status, std::string_view error) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    done_(status, error, status != 0 ? response_.get().body().size() : 0);
  }

  beast::tcp_stream stream_;
  std::chrono::milliseconds timeout_;
  std::function<void(int, std::string_view, std::size_t)> done_;
  http::request<http::empty_body> request_;
  http::response_parser<http::string_body> response_;
  beast::flat_buffer buffer_;
};

}  // namespace

void http_get(boost::asio::io_context& io, const tcp::endpoint& server, std::string path,
              std::chrono::milliseconds timeout,
              std::function<void(int status, std::string_view error, std::size_t body_bytes)> done) {
  std::make_shared<Probe>(io, std::move(path), timeout, std::move(done))->start(server);
}

}  // namespace tandem::bench
