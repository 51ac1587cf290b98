// FrameSocket: the layer under the server's WebSocket stream that gathers queued frames
// into few writes and keeps Beast's own frames (handshake, pongs, close) in line with
// them. Real loopback TCP, a real Beast client on its own thread.
#include "net/frame_socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tandem::net {
namespace {

namespace websocket = beast::websocket;
using namespace std::chrono_literals;

class ServerSide : public FrameSocket::Listener, public std::enable_shared_from_this<ServerSide> {
 public:
  explicit ServerSide(tcp::socket socket) : ws(std::move(socket)) {}
  void start() { ws.next_layer().set_listener(this, weak_from_this()); }
  void on_written(beast::error_code ec, std::size_t frame_count, std::size_t byte_count) override {
    ++writes;
    frames += frame_count;
    bytes += byte_count;
    if (ec) error = ec;
  }
  void on_overflow() override {
    ++overflows;
    queued_at_overflow = ws.next_layer().queued_frames();
  }
  // Keeps one read pending so Beast answers pings and sees the close reply.
  void read_forever() {
    ws.async_read(buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->buffer.consume(self->buffer.size());
      if (ec) {
        self->read_error = ec;
        return;
      }
      self->read_forever();
    });
  }

  websocket::stream<FrameSocket> ws;
  beast::flat_buffer buffer;
  int writes = 0;
  std::size_t frames = 0;  // completed by the writes, as reported
  std::size_t bytes = 0;
  beast::error_code error;
  beast::error_code read_error;
  int overflows = 0;
  std::size_t queued_at_overflow = 0;
};

struct Received {
  std::vector<std::string> messages;
  int pongs = 0;
  beast::error_code end;
  websocket::close_reason reason;
};

// One server connection and a synchronous client on another thread.
class FrameSocketTest : public ::testing::Test {
 protected:
  // `client` runs on the client thread once its handshake is done. `small_buffers` shrinks
  // both sides' socket buffers so a backlog of a few MB cannot fit in the kernel.
  void connect(std::function<void(websocket::stream<tcp::socket>&)> client,
               bool small_buffers = false) {
    tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    client_done_ = std::async(std::launch::async, [this, port, small_buffers,
                                                   client = std::move(client)] {
      asio::io_context client_io;
      websocket::stream<tcp::socket> ws(client_io);
      ws.next_layer().open(tcp::v4());
      if (small_buffers) ws.next_layer().set_option(asio::socket_base::receive_buffer_size(32 * 1024));
      ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
      ws.read_message_max(1 << 20);
      ws.handshake("127.0.0.1", "/ws");
      client(ws);
      client_finished_ = true;
    });
    server_ = std::make_shared<ServerSide>(acceptor.accept());
    if (small_buffers) {
      server_->ws.next_layer().next_layer().set_option(asio::socket_base::send_buffer_size(32 * 1024));
    }
    server_->start();
    bool accepted = false;
    server_->ws.async_accept([&](beast::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      accepted = true;
    });
    run_until([&] { return accepted; });
    server_->read_forever();
  }

  // Runs the server's loop until `done` holds (bounded: the test fails after 20 s).
  void run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "condition not reached";
      io_.run_for(5ms);
      if (io_.stopped()) io_.restart();
    }
  }

  void finish_client() {
    run_until([&] { return client_finished_.load(); });
    client_done_.get();
  }

  static Received read_all(websocket::stream<tcp::socket>& ws) {
    Received got;
    ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) ++got.pongs;
    });
    beast::flat_buffer buffer;
    for (;;) {
      beast::error_code ec;
      ws.read(buffer, ec);
      if (ec) {
        got.end = ec;
        got.reason = ws.reason();
        return got;
      }
      EXPECT_TRUE(ws.got_text());
      got.messages.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
    }
  }

  static protocol::Frame payload(std::size_t index, std::size_t size) {
    std::string text(size, static_cast<char>('a' + index % 26));
    const std::string tag = std::to_string(index) + ":";
    text.replace(0, std::min(tag.size(), size), tag.substr(0, std::min(tag.size(), size)));
    return std::make_shared<const std::string>(std::move(text));
  }

  asio::io_context io_{1};
  std::shared_ptr<ServerSide> server_;
  std::future<void> client_done_;
  std::atomic<bool> client_finished_{false};
};

TEST_F(FrameSocketTest, QueuedFramesLeaveInFewWritesIntactAndInOrder) {
  Received got;
  connect([&](auto& ws) { got = read_all(ws); });
  const int writes_before = server_->writes;  // the handshake response
  const std::size_t frames_before = server_->frames;
  const std::size_t bytes_before = server_->bytes;
  constexpr std::size_t kFrames = 1'000;
  std::vector<protocol::Frame> sent;
  for (std::size_t i = 0; i < kFrames; ++i) {
    sent.push_back(payload(i, 100));
    server_->ws.next_layer().write_text(sent.back());
  }
  server_->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
  finish_client();

  ASSERT_EQ(got.messages.size(), kFrames);
  for (std::size_t i = 0; i < kFrames; ++i) ASSERT_EQ(got.messages[i], *sent[i]) << i;
  EXPECT_EQ(got.end, websocket::error::closed);
  EXPECT_EQ(got.reason.code, websocket::close_code::normal);
  // One system call per frame would be 1,000 writes; gathered, at most 32 frames each.
  const int writes = server_->writes - writes_before;
  EXPECT_LE(writes, static_cast<int>(kFrames / 8)) << writes << " writes";
  EXPECT_FALSE(server_->error);
  // Reported: the 1,000 data frames (2-byte header + 100 bytes each) and the close frame
  // (2-byte header + 2-byte code).
  EXPECT_EQ(server_->frames - frames_before, kFrames + 1);
  EXPECT_EQ(server_->bytes - bytes_before, kFrames * 102 + 4);
}

// A frame for an idle connection is written inside write_text (no pending operation, no
// handler); frames queued for it later in the same pass of the loop wait for the pass to
// end and then leave together, so a burst still costs one write.
TEST_F(FrameSocketTest, AFrameGoesOutAtOnceAndTheRestOfThePassInOneWrite) {
  Received got;
  connect([&](auto& ws) { got = read_all(ws); });
  run_until([&] { return io_.poll() == 0; });  // nothing left of the handshake's pass
  const int writes_before = server_->writes;
  const std::size_t frames_before = server_->frames;
  std::vector<protocol::Frame> sent;
  sent.push_back(payload(0, 40));
  server_->ws.next_layer().write_text(sent.back());
  EXPECT_EQ(server_->writes - writes_before, 1);  // reported before write_text returned
  EXPECT_EQ(server_->frames - frames_before, 1u);
  for (std::size_t i = 1; i <= 10; ++i) {
    sent.push_back(payload(i, 40));
    server_->ws.next_layer().write_text(sent.back());
  }
  EXPECT_EQ(server_->writes - writes_before, 1);  // the ten wait for the end of the pass
  EXPECT_EQ(server_->ws.next_layer().queued_frames(), 10u);
  run_until([&] { return server_->ws.next_layer().queued_frames() == 0; });
  EXPECT_EQ(server_->writes - writes_before, 2);
  EXPECT_EQ(server_->frames - frames_before, 11u);
  server_->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
  finish_client();
  ASSERT_EQ(got.messages.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(got.messages[i], *sent[i]) << i;
}

TEST_F(FrameSocketTest, EveryLengthEncodingSurvivesPartialWrites) {
  Received got;
  connect([&](auto& ws) { got = read_all(ws); });
  // 7-bit, 16-bit and 64-bit lengths at their edges; several MB so the socket buffer
  // fills and writes end in the middle of headers and payloads.
  const std::vector<std::size_t> sizes{1, 125, 126, 127, 65'535, 65'536, 70'000, 300};
  std::vector<protocol::Frame> sent;
  for (std::size_t i = 0; i < 240; ++i) {
    sent.push_back(payload(i, sizes[i % sizes.size()]));
    server_->ws.next_layer().write_text(sent.back());
  }
  server_->ws.async_close(websocket::close_code::going_away, [](beast::error_code) {});
  finish_client();

  ASSERT_EQ(got.messages.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(got.messages[i], *sent[i]) << i;
  EXPECT_EQ(got.reason.code, websocket::close_code::going_away);
}

TEST_F(FrameSocketTest, PongsQueueBehindDataWithoutInterleaving) {
  std::promise<void> backlog_queued;
  auto backlog_ready = backlog_queued.get_future();
  Received got;
  constexpr int kPings = 50;
  connect([&](auto& ws) {
    backlog_ready.wait();
    for (int i = 0; i < kPings; ++i) ws.ping(websocket::ping_data(std::to_string(i)));
    got = read_all(ws);
  }, /*small_buffers=*/true);
  int pings = 0;
  server_->ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  // Far more than the socket buffers hold, so the pongs are answered while data is queued.
  std::vector<protocol::Frame> sent;
  for (std::size_t i = 0; i < 200; ++i) {
    sent.push_back(payload(i, 60'000));
    server_->ws.next_layer().write_text(sent.back());
  }
  backlog_queued.set_value();
  run_until([&] { return pings == kPings; });
  EXPECT_GT(server_->ws.next_layer().queued_frames(), 0u);
  server_->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
  finish_client();

  ASSERT_EQ(got.messages.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(got.messages[i], *sent[i]) << i;
  EXPECT_EQ(got.pongs, kPings);
  EXPECT_EQ(got.reason.code, websocket::close_code::normal);
}

// Beast's pongs count against the queue's bounds like data frames: a client that pings and
// never reads takes the queue past its bound once, and the listener is told once (its
// owner then closes the connection; here the test does).
TEST_F(FrameSocketTest, PongsPastTheBoundAreReportedOnce) {
  std::promise<void> overflowed;
  auto may_read = overflowed.get_future();
  Received got;
  constexpr int kPings = 2'000;  // 262 KB of pongs: more than the two 32 KB buffers hold
  connect([&](auto& ws) {
    for (int i = 0; i < kPings; ++i) ws.ping(websocket::ping_data(std::string(125, 'p')));
    may_read.wait();
    got = read_all(ws);
  }, /*small_buffers=*/true);
  FrameSocket& out = server_->ws.next_layer();
  constexpr std::size_t kMaxFrames = 16;
  out.set_limits(1 << 20, kMaxFrames);
  EXPECT_TRUE(out.fits(1000));
  run_until([&] { return server_->overflows > 0; });
  // Reported by the pong that passed the bound, before anything else of this connection ran
  // (so at that moment a data frame would have been refused too). Whether it still would be
  // now depends on how much the kernel has taken from the queue since: not checked.
  EXPECT_EQ(server_->queued_at_overflow, kMaxFrames + 1);
  out.discard_unsent();
  server_->ws.async_close(websocket::close_code::policy_error, [](beast::error_code) {});
  overflowed.set_value();
  finish_client();
  EXPECT_EQ(server_->overflows, 1);
  EXPECT_LT(got.pongs, kPings) << "every pong was written: nothing was bounded";
  EXPECT_EQ(got.reason.code, websocket::close_code::policy_error);
}

TEST_F(FrameSocketTest, DiscardKeepsTheWriteInFlightWholeThenCloses) {
  std::promise<void> discarded;
  auto may_read = discarded.get_future();
  Received got;
  connect([&](auto& ws) {
    may_read.wait();
    got = read_all(ws);
  }, /*small_buffers=*/true);
  FrameSocket& out = server_->ws.next_layer();
  const int writes_before = server_->writes;
  std::vector<protocol::Frame> sent;
  for (std::size_t i = 0; i < 100; ++i) {
    sent.push_back(payload(i, 60'000));
    out.write_text(sent.back());
  }
  run_until([&] { return server_->writes > writes_before; });  // the client is not reading
  const std::size_t dropped = out.discard_unsent();
  EXPECT_GT(dropped, 0u);
  EXPECT_LE(out.queued_bytes(), out.queued_frames() * 60'000);
  server_->ws.async_close(websocket::close_code::policy_error, [](beast::error_code) {});
  discarded.set_value();
  finish_client();

  // A prefix of the frames, each whole, then the close frame.
  ASSERT_EQ(got.messages.size(), 100u - dropped);
  for (std::size_t i = 0; i < got.messages.size(); ++i) ASSERT_EQ(got.messages[i], *sent[i]) << i;
  EXPECT_EQ(got.reason.code, websocket::close_code::policy_error);
}

TEST_F(FrameSocketTest, AFailedConnectionDropsItsQueueAndTakesNoMore) {
  connect([](auto& ws) {
    // An abrupt end: RST instead of a closing handshake.
    ws.next_layer().set_option(asio::socket_base::linger(true, 0));
    ws.next_layer().close();
  });
  finish_client();
  FrameSocket& out = server_->ws.next_layer();
  // Write until the kernel reports the reset (the first writes may still succeed).
  for (std::size_t i = 0; !server_->error && i < 1'000; ++i) {
    out.write_text(payload(i, 1'000));
    run_until([&] { return out.queued_frames() == 0 || static_cast<bool>(server_->error); });
  }
  ASSERT_TRUE(server_->error);
  EXPECT_EQ(out.queued_frames(), 0u);
  out.write_text(payload(0, 10));
  EXPECT_EQ(out.queued_frames(), 0u);
  EXPECT_EQ(out.queued_bytes(), 0u);
}

}  // namespace
}  // namespace tandem::net
