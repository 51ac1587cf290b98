#pragma once
// A plain RESP connection over an Asio socket, replies parsed by hiredis's reader: for the
// conversations hiredis 0.14's async context cannot hold (a sentinel's few commands, and
// sharded pub/sub, whose SSUBSCRIBE/smessage it does not know). Connect, write commands
// (queued in order), hand each reply or push to `on_reply` until it returns false or the
// connection ends; `on_end` runs once, with the reason ("" when on_reply ended it). The
// deadline covers connecting until the first reply. Never reconnects: its owner does.
#include "redis/redis_config.hpp"
#include "redis/reply.hpp"
#include "redis/types.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct redisReader;

namespace tandem::redis {

class RespConnection : public std::enable_shared_from_this<RespConnection> {
 public:
  using OnReply = std::function<bool(Reply)>;
  using OnEnd = std::function<void(std::string error)>;

  // `max_bytes`: the most this connection may read in all (0: no bound, for a long-lived
  // subscription); `max_queued`: unsent bytes beyond which it ends (a stuck peer).
  RespConnection(Executor executor, Endpoint to, std::chrono::milliseconds deadline,
                 std::size_t max_bytes, OnReply on_reply, OnEnd on_end);
  ~RespConnection();
  RespConnection(const RespConnection&) = delete;
  RespConnection& operator=(const RespConnection&) = delete;

  void start();
  // Queued until connected; written in order.
  void send(const std::vector<std::string>& args);
  // No callback runs after this.
  void cancel();
  const Endpoint& endpoint() const noexcept { return to_; }

  static constexpr std::size_t kMaxQueued = 1 << 20;

 private:
  void on_connected(const boost::system::error_code& ec);
  void write_more();
  void read();
  void on_bytes(std::size_t n);
  void finish(std::string error);
  void close();

  Endpoint to_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::chrono::milliseconds deadline_;
  std::size_t max_bytes_;
  redisReader* reader_;
  OnReply on_reply_;
  OnEnd on_end_;
  std::string queued_;   // encoded commands not yet handed to a write
  std::string writing_;  // the bytes of the write in progress
  std::array<char, 4096> buffer_{};
  std::size_t read_bytes_ = 0;
  bool connected_ = false;
  bool answered_ = false;
  bool done_ = false;
};

// RESP: an array of bulk strings.
std::string encode_command(const std::vector<std::string>& args);

}  // namespace tandem::redis
