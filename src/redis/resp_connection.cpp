#include "redis/resp_connection.hpp"

#include "redis/hiredis_reply.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <utility>

namespace tandem::redis {

std::string encode_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

RespConnection::RespConnection(Executor executor, Endpoint to, std::chrono::milliseconds deadline,
                               std::size_t max_bytes, OnReply on_reply, OnEnd on_end)
    : to_(std::move(to)),
      resolver_(executor),
      socket_(executor),
      timer_(executor),
      deadline_(deadline),
      max_bytes_(max_bytes),
      reader_(redisReaderCreate()),
      on_reply_(std::move(on_reply)),
      on_end_(std::move(on_end)) {}

RespConnection::~RespConnection() {
  if (reader_ != nullptr) redisReaderFree(reader_);
}

void RespConnection::start() {
  if (reader_ == nullptr) return finish("out of memory");
  timer_.expires_after(deadline_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->answered_) self->finish("timeout");
  });
  resolver_.async_resolve(
      to_.host, std::to_string(to_.port),
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  const asio::ip::tcp::resolver::results_type& results) {
        if (self->done_) return;
        if (ec) return self->finish("resolve: " + ec.message());
        asio::async_connect(self->socket_, results,
                            [self](const boost::system::error_code& error, const auto&) {
                              self->on_connected(error);
                            });
      });
}

void RespConnection::send(const std::vector<std::string>& args) {
  if (done_) return;
  queued_ += encode_command(args);
  if (queued_.size() > kMaxQueued) return finish("write queue full");
  if (connected_ && writing_.empty()) write_more();
}

void RespConnection::cancel() {
  done_ = true;
  close();
}

void RespConnection::on_connected(const boost::system::error_code& ec) {
  if (done_) return;
  if (ec) return finish("connect: " + ec.message());
  connected_ = true;
  boost::system::error_code ignored;
  socket_.set_option(asio::socket_base::keep_alive(true), ignored);
  if (!queued_.empty()) write_more();
  read();
}

void RespConnection::write_more() {
  writing_ = std::move(queued_);
  queued_.clear();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
                      if (self->done_) return;
                      if (error) return self->finish("write: " + error.message());
                      self->writing_.clear();
                      if (!self->queued_.empty()) self->write_more();
                    });
}

void RespConnection::read() {
  socket_.async_read_some(
      asio::buffer(buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (self->done_) return;
        if (ec) return self->finish(ec == asio::error::eof ? "closed" : ec.message());
        self->on_bytes(n);
      });
}

void RespConnection::on_bytes(std::size_t n) {
  read_bytes_ += n;
  if (max_bytes_ != 0 && read_bytes_ > max_bytes_) return finish("reply too large");
  if (redisReaderFeed(reader_, buffer_.data(), n) != REDIS_OK) return finish("protocol error");
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return finish("protocol error");
    if (raw == nullptr) break;
    Reply reply = detail::copy_reply(*static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    answered_ = true;
    timer_.cancel();
    if (!on_reply_(std::move(reply))) return finish("");
    if (done_) return;  // the callback cancelled this connection
  }
  read();
}

void RespConnection::finish(std::string error) {
  if (done_) return;
  done_ = true;
  close();
  auto on_end = std::move(on_end_);
  if (on_end) on_end(std::move(error));
}

void RespConnection::close() {
  boost::system::error_code ignored;
  timer_.cancel();
  resolver_.cancel();
  socket_.close(ignored);
}

}  // namespace tandem::redis
