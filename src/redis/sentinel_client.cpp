#include "redis/sentinel_client.hpp"

#include <boost/asio/post.hpp>

#include <array>
#include <random>
#include <utility>

namespace tandem::redis {
namespace {

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
  struct Answer {
    int replies_left;
    std::optional<Endpoint> master;
  };
  auto answer = std::make_shared<Answer>(Answer{config_.password.empty() ? 1 : 2, {}});
  auto self = shared_from_this();
  query_ = std::make_shared<RespConnection>(
      executor_, config_.sentinels[index], config_.timeout, kMaxQueryBytes,
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
  if (!config_.password.empty()) query_->send({"AUTH", config_.password});
  query_->send({"SENTINEL", "get-master-addr-by-name", config_.master_name});
  query_->start();
}

void SentinelClient::watch(Switched on_switch) {
  on_switch_ = std::move(on_switch);
  if (!stopped_ && !watch_) subscribe_next();
}

void SentinelClient::subscribe_next() {
  const std::size_t index = watch_index_++ % config_.sentinels.size();
  auto self = shared_from_this();
  watch_ = std::make_shared<RespConnection>(
      executor_, config_.sentinels[index], config_.timeout, 0,
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
  if (!config_.password.empty()) watch_->send({"AUTH", config_.password});
  watch_->send({"SUBSCRIBE", "+switch-master"});
  watch_->start();
}

}  // namespace tandem::redis
