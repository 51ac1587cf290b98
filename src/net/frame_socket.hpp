#pragma once
// The layer under Beast's websocket::stream (its "next layer"). Reads go straight to the
// TCP socket. Every write, Beast's own frames (handshake response, pongs, close) and our
// data frames alike, goes through one output queue, so the two can never interleave on
// the wire. A frame for an idle connection is written at once (non-blocking sendmsg inside
// write_text); frames queued after it in the same pass of the event loop, or while an
// asynchronous write is in flight, leave together in the next single gather write (up to
// kMaxFramesPerWrite frames). Docs: docs/ARCHITECTURE.md, "The write path".
//
// Why not ws.async_write: Beast writes one message per call, i.e. one system call per
// delivered message. Server frames are unmasked and never compressed here (no
// permessage-deflate), so a data frame is a 2-10 byte header plus the payload that every
// recipient of the message shares (protocol::Frame); only the header is per connection.
//
// Beast's writes are copied into the queue and completed at once (posted), so Beast never
// waits on a data frame and never sees a partial write. The closing handshake's teardown
// (shutdown after the close frame) waits until the queue has been written out.
//
// The queue's bounds (bytes and frames) hold for Beast's frames as for data frames: the
// owner refuses a data frame that does not fit (fits()); Beast's frames, pongs above all,
// are queued (a close frame must never be lost, and each is at most 127 bytes) and the
// first one that passes a bound is reported to the listener (on_overflow, posted), which
// closes the connection as it would for a data frame. So a client that floods pings and
// never reads its pongs is a slow consumer like any other.
#include "net/types.hpp"
#include "protocol/event.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tandem::net {

class FrameSocket {
 public:
  using executor_type = tcp::socket::executor_type;
  using next_layer_type = tcp::socket;

  // Told after each completed write: how many frames it completed and how many bytes it
  // sent (ec set when the connection failed; the queue is then empty and stays empty).
  // A write made at once is reported from inside write_text, and only with success.
  class Listener {
   public:
    virtual void on_written(beast::error_code ec, std::size_t frames, std::size_t bytes) = 0;
    // One of Beast's frames took the queue past a bound (reported once, from a handler).
    virtual void on_overflow() = 0;

   protected:
    ~Listener() = default;
  };

  static constexpr std::size_t kMaxFramesPerWrite = 32;  // 64 iovecs (IOV_MAX is 1024)
  static constexpr std::size_t kMaxBytesPerWrite = 256 * 1024;

  explicit FrameSocket(tcp::socket socket) : socket_(std::move(socket)) {}
  FrameSocket(FrameSocket&&) = delete;  // the pending write refers to this object
  FrameSocket& operator=(FrameSocket&&) = delete;

  // `owner` keeps the object that holds this socket alive while a write is in flight.
  void set_listener(Listener* listener, std::weak_ptr<void> owner) {
    listener_ = listener;
    owner_ = std::move(owner);
  }

  // Bounds of the queue (unbounded until set).
  void set_limits(std::size_t max_bytes, std::size_t max_frames) noexcept {
    max_bytes_ = max_bytes;
    max_frames_ = max_frames;
  }
  // A data frame of `payload` bytes can be queued within the bounds.
  bool fits(std::size_t payload) const noexcept {
    return queued_frames() < max_frames_ && queued_bytes_ + payload <= max_bytes_;
  }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& next_layer() noexcept { return socket_; }
  const tcp::socket& next_layer() const noexcept { return socket_; }

  // One text message, FIN set, as one frame.
  void write_text(const protocol::Frame& payload);

  // Drops the frames no write has started on (a write in flight, or a frame partly
  // written, is finished so the stream stays well formed). Returns how many were dropped.
  std::size_t discard_unsent();

  std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  std::size_t queued_frames() const noexcept { return queue_.size() - head_; }

  template <class ConstBufferSequence, class ReadToken>
  auto async_read_some(const ConstBufferSequence& buffers, ReadToken&& token) {
    return socket_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // Beast's frames: copied into the queue, completed with all bytes "written".
  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return asio::async_initiate<WriteToken, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& data) {
          const std::size_t size = asio::buffer_size(data);
          beast::error_code ec = error_;
          if (!ec) {
            std::string bytes(size, '\0');
            asio::buffer_copy(asio::buffer(bytes), data);
            push(Entry{std::make_shared<const std::string>(std::move(bytes)), false});
            check_bounds();
          }
          asio::post(socket_.get_executor(),
                     beast::bind_handler(std::move(handler), ec, ec ? std::size_t{0} : size));
        },
        token, buffers);
  }

  // Beast's teardown after the closing handshake, found by argument-dependent lookup:
  // the server's shutdown must come after everything queued before the close frame.
  template <class TeardownHandler>
  friend void async_teardown(beast::role_type role, FrameSocket& self,
                             TeardownHandler&& handler) {
    self.teardown_ = std::make_unique<PendingTeardown<std::decay_t<TeardownHandler>>>(
        role, std::forward<TeardownHandler>(handler));
    self.maybe_teardown();
  }

 private:
  struct Entry {
    protocol::Frame payload;  // shared with the other recipients, or Beast's bytes
    bool text_frame;          // payload needs a text frame header (Beast's bytes do not)
  };
  // Beast's teardown handler, kept until the queue is written out (or has failed).
  struct Teardown {
    virtual ~Teardown() = default;
    virtual void start(tcp::socket& socket, beast::error_code failed) = 0;
  };
  template <class Handler>
  struct PendingTeardown final : Teardown {
    PendingTeardown(beast::role_type r, Handler&& h) : role(r), handler(std::move(h)) {}
    void start(tcp::socket& socket, beast::error_code failed) override {
      if (failed) {
        asio::post(socket.get_executor(), beast::bind_handler(std::move(handler), failed));
      } else {
        beast::websocket::async_teardown(role, socket, std::move(handler));
      }
    }
    beast::role_type role;
    Handler handler;
  };

  struct Gather;

  void push(Entry entry);
  void check_bounds();
  std::size_t gather(char* headers, Gather& gather, std::size_t& frames) const;
  void flush();
  void mark_recent();
  static void end_of_pass(bool flush_now);
  std::size_t consume(std::size_t bytes);
  void compact();
  void on_write(beast::error_code ec, std::size_t bytes);
  void fail(beast::error_code ec);
  void maybe_teardown();

  tcp::socket socket_;
  Listener* listener_ = nullptr;
  std::weak_ptr<void> owner_;
  std::vector<Entry> queue_;  // FIFO: queue_[head_] is next; offset_ bytes of it are sent
  std::size_t head_ = 0;
  std::size_t offset_ = 0;
  std::size_t in_flight_ = 0;  // entries the write in flight refers to (from head_)
  std::size_t queued_bytes_ = 0;
  beast::error_code error_;
  std::unique_ptr<Teardown> teardown_;
  std::size_t max_bytes_ = static_cast<std::size_t>(-1);
  std::size_t max_frames_ = static_cast<std::size_t>(-1);
  bool overflow_reported_ = false;
  bool writing_ = false;
  bool recent_ = false;  // written to in this pass of the loop: more frames wait for its end
};

}  // namespace tandem::net
