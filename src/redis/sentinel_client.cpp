#include "redis/sentinel_client.hpp"

#include "redis/hiredis_reply.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <random>
#include <utility>

namespace tandem::redis {
namespace {

// RESP: an array of bulk strings.
std::string encode(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// A sentinel's answers are small; anything bigger is not a sentinel.
constexpr std::size_t kMaxQueryBytes = 64 * 1024;

}  // namespace

std::optional<Endpoint> master_from_reply(const Reply& reply) {
  if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_string() ||
      !reply.elements[1].is_string() || reply.elements[0].str.empty()) {
    return std::nullopt;
  }
  return make_endpoint(reply.elements[0].str, reply.elements[1].str);
}

std::optional<Endpoint> switched_master(std::string_view message, std::string_view master_name) {
  // "<name> <old ip> <old port> <new ip> <new port>"
  std::array<std::string_view, 5> words;
  std::size_t n = 0;
  while (!message.empty() && n < words.size()) {
    const auto space = message.find(' ');
    words[n++] = message.substr(0, space);
    message = space == std::string_view::npos ? std::string_view{} : message.substr(space + 1);
  }
  if (n != 5 || !message.empty() || words[0] != master_name) return std::nullopt;
  return make_endpoint(words[3], words[4]);
}

// One connection to one sentinel: connect, write the commands, hand each reply to
// `on_reply` until it returns false (or the connection ends). The deadline covers the
// exchange up to the first reply; a watch lives on after it.
class SentinelClient::Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  using OnReply = std::function<bool(Reply)>;
  using OnEnd = std::function<void(std::string error)>;

  Exchange(Executor executor, Endpoint to, std::string payload,
           std::chrono::milliseconds deadline, bool bounded, OnReply on_reply, OnEnd on_end)
      : to_(std::move(to)),
        payload_(std::move(payload)),
        resolver_(executor),
        socket_(executor),
        timer_(executor),
        deadline_(deadline),
        bounded_(bounded),
        reader_(redisReaderCreate()),
        on_reply_(std::move(on_reply)),
        on_end_(std::move(on_end)) {}
  ~Exchange() {
    if (reader_ != nullptr) redisReaderFree(reader_);
  }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  void start() {
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

  // No callback runs after this.
  void cancel() {
    done_ = true;
    close();
  }

  const Endpoint& endpoint() const noexcept { return to_; }

 private:
  void on_connected(const boost::system::error_code& ec) {
    if (done_) return;
    if (ec) return finish("connect: " + ec.message());
    asio::async_write(socket_, asio::buffer(payload_),
                      [self = shared_from_this()](const boost::system::error_code& error,
                                                  std::size_t) {
                        if (self->done_) return;
                        if (error) return self->finish("write: " + error.message());
                        self->read();
                      });
  }

  void read() {
    socket_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          if (self->done_) return;
          if (ec) return self->finish(ec == asio::error::eof ? "closed" : ec.message());
          self->on_bytes(n);
        });
  }

  void on_bytes(std::size_t n) {
    read_bytes_ += n;
    if (bounded_ && read_bytes_ > kMaxQueryBytes) return finish("reply too large");
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
      if (done_) return;  // the callback cancelled this exchange
    }
    read();
  }

  void finish(std::string error) {
    if (done_) return;
    done_ = true;
    close();
    auto on_end = std::move(on_end_);
    if (on_end) on_end(std::move(error));
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
  }

  Endpoint to_;
  std::string payload_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::chrono::milliseconds deadline_;
  bool bounded_;
  redisReader* reader_;
  OnReply on_reply_;
  OnEnd on_end_;
  std::array<char, 4096> buffer_{};
  std::size_t read_bytes_ = 0;
  bool answered_ = false;
  bool done_ = false;
};

SentinelClient::SentinelClient(Executor executor, SentinelConfig config)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      watch_retry_(executor_),
      watch_backoff_(std::chrono::milliseconds(100), std::chrono::milliseconds(2'000),
                     std::random_device{}()) {}

SentinelClient::~SentinelClient() { shutdown(); }

void SentinelClient::shutdown() {
  stopped_ = true;
  watch_retry_.cancel();
  if (query_) query_->cancel();
  if (watch_) watch_->cancel();
  query_.reset();
  watch_.reset();
}

void SentinelClient::resolve(Resolved done) {
  if (stopped_) return;
  if (query_) query_->cancel();
  ask(0, std::move(done));
}

// Sentinel `preferred_ + tried`; on no answer, the next one; after all of them, an error.
void SentinelClient::ask(std::size_t tried, Resolved done) {
  if (tried == config_.sentinels.size()) {
    asio::post(executor_, [done = std::move(done)] {
      done(std::nullopt, "no sentinel knows a master by that name");
    });
    return;
  }
  const std::size_t index = (preferred_ + tried) % config_.sentinels.size();
  std::string payload;
  if (!config_.password.empty()) payload += encode({"AUTH", config_.password});
  payload += encode({"SENTINEL", "get-master-addr-by-name", config_.master_name});
  struct Answer {
    int replies_left;
    std::optional<Endpoint> master;
  };
  auto answer = std::make_shared<Answer>(Answer{config_.password.empty() ? 1 : 2, {}});
  auto self = shared_from_this();
  query_ = std::make_shared<Exchange>(
      executor_, config_.sentinels[index], std::move(payload), config_.timeout, true,
      [answer](Reply reply) {
        if (reply.is_error()) return false;  // e.g. NOAUTH: this sentinel cannot help
        if (--answer->replies_left > 0) return true;
        answer->master = master_from_reply(reply);
        return false;
      },
      [self, tried, index, answer, done = std::move(done)](std::string) mutable {
        if (self->stopped_) return;
        self->query_.reset();
        if (answer->master) {
          self->preferred_ = index;
          done(answer->master, "");
          return;
        }
        self->ask(tried + 1, std::move(done));
      });
  query_->start();
}

void SentinelClient::watch(Switched on_switch) {
  on_switch_ = std::move(on_switch);
  if (!stopped_ && !watch_) subscribe_next();
}

void SentinelClient::subscribe_next() {
  const std::size_t index = watch_index_++ % config_.sentinels.size();
  std::string payload;
  if (!config_.password.empty()) payload += encode({"AUTH", config_.password});
  payload += encode({"SUBSCRIBE", "+switch-master"});
  auto self = shared_from_this();
  watch_ = std::make_shared<Exchange>(
      executor_, config_.sentinels[index], std::move(payload), config_.timeout, false,
      [self](Reply reply) {
        if (reply.is_error()) return false;
        // ["message", "+switch-master", "<name> <old> <port> <new> <port>"]
        if (reply.is_array() && reply.elements.size() == 3 && reply.elements[0].str == "message") {
          self->watch_backoff_.reset();
          if (auto master = switched_master(reply.elements[2].str, self->config_.master_name)) {
            if (self->on_switch_) self->on_switch_(*master);
          }
        } else if (reply.is_array() && !reply.elements.empty() &&
                   reply.elements[0].str == "subscribe") {
          self->watch_backoff_.reset();
        }
        return true;
      },
      [self](std::string) {
        if (self->stopped_) return;
        self->watch_.reset();
        self->watch_retry_.expires_after(self->watch_backoff_.next());
        self->watch_retry_.async_wait([self](const boost::system::error_code& ec) {
          if (!ec && !self->stopped_) self->subscribe_next();
        });
      });
  watch_->start();
}

}  // namespace tandem::redis
