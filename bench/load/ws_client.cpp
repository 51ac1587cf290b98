#include "ws_client.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <deque>
#include <string>

namespace tandem::bench {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

class Client final : public WsClient, public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, Handlers handlers) : ws_(io), handlers_(std::move(handlers)) {}

  void connect(const tcp::endpoint& server, const asio::ip::address_v4& source,
               OnOpen on_open) override {
    auto& socket = ws_.next_layer();
    beast::error_code ec;
    socket.open(tcp::v4(), ec);
    if (!ec) {
#ifdef IP_BIND_ADDRESS_NO_PORT
      // Choose the port at connect() from the 4-tuple, not at bind() from the address alone.
      const int one = 1;
      ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
      if (receive_buffer_ > 0) {
        socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer_), ec);
      }
      if (!ec) socket.bind(tcp::endpoint(source, 0), ec);
    }
    if (ec) {
      asio::post(ws_.get_executor(), [on_open = std::move(on_open), message = "bind: " + ec.message()] {
        on_open(false, message);
      });
      return;
    }
    host_ = server.address().to_string() + ":" + std::to_string(server.port());
    socket.async_connect(server, [self = shared_from_this(), on_open = std::move(on_open)](
                                     beast::error_code error) mutable {
      self->on_connect(error, std::move(on_open));
    });
  }

  void send(Frame frame) override {
    if (!open_ || aborted_) return;
    queue_.push_back(std::move(frame));
    if (!writing_) do_write();
  }

  void close_abrupt() override {
    if (aborted_) return;
    aborted_ = true;
    open_ = false;
    queue_.clear();
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
  }

  void set_receive_buffer(int bytes) override { receive_buffer_ = bytes; }

  void set_reading(bool reading) override {
    paused_ = !reading;
    if (reading && open_ && !aborted_ && !read_in_flight_) do_read();
  }

  bool is_open() const noexcept override { return open_ && !aborted_; }
  std::size_t queued() const noexcept override { return queue_.size(); }

 private:
  void on_connect(beast::error_code ec, OnOpen on_open) {
    if (aborted_) return;
    if (ec) {
      on_open(false, "connect: " + ec.message());
      return;
    }
    ws_.next_layer().set_option(tcp::no_delay(true), ec);
    ws_.read_message_max(std::size_t{1} << 20);
    ws_.auto_fragment(false);
    ws_.async_handshake(host_, "/ws", [self = shared_from_this(), on_open = std::move(on_open)](
                                          beast::error_code error) {
      if (self->aborted_) return;
      if (error) {
        on_open(false, "handshake: " + error.message());
        return;
      }
      self->open_ = true;
      self->ws_.text(true);
      self->do_read();
      on_open(true, {});
    });
  }

  void do_read() {
    read_in_flight_ = true;
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    read_in_flight_ = false;
    if (aborted_) return;
    if (ec) {
      open_ = false;
      const int code = ec == websocket::error::closed ? static_cast<int>(ws_.reason().code) : 1006;
      if (!reported_ && handlers_.on_close) {
        reported_ = true;
        handlers_.on_close(code);
      }
      return;
    }
    const auto data = buffer_.cdata();
    handlers_.on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
    buffer_.consume(buffer_.size());
    if (!aborted_ && !paused_) do_read();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(asio::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec || self->aborted_) {
                        self->queue_.clear();
                        return;
                      }
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->do_write();
                    });
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::deque<Frame> queue_;
  Handlers handlers_;
  std::string host_;
  bool open_ = false;
  bool writing_ = false;
  bool aborted_ = false;
  bool reported_ = false;
  bool paused_ = false;
  int receive_buffer_ = 0;
  bool read_in_flight_ = false;
};

}  // namespace

std::shared_ptr<WsClient> WsClient::make(asio::io_context& io, Handlers handlers) {
  return std::make_shared<Client>(io, std::move(handlers));
}

}  // namespace tandem::bench
