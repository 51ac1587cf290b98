#include "redis/redis_link.hpp"

#include "redis/hiredis_reply.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>
#include <utility>

namespace tandem::redis::detail {
namespace {

std::string_view text_of(const redisReply& r) {
  return std::string_view(r.str, r.len);
}

}  // namespace

RedisLink::RedisLink(Executor executor, RedisConfig config, obs::Logger& logger,
                     obs::Registry& registry, Role role)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      logger_(logger),
      metrics_(registry, config_.name),
      role_(role),
      resolver_(executor_),
      retry_timer_(executor_),
      connect_timer_(executor_),
      watchdog_timer_(executor_),
      backoff_(config_.backoff_initial, config_.backoff_max, std::random_device{}()) {
  metrics_.connected.set(0);
}

RedisLink::~RedisLink() {
  shutdown();
}

void RedisLink::start() {
  if (state_ != State::idle) return;
  if (config_.sentinel.enabled()) {
    sentinel_ = std::make_shared<SentinelClient>(executor_, config_.sentinel);
    std::weak_ptr<RedisLink> weak = shared_from_this();
    sentinel_->watch([weak](const Endpoint& master) {
      if (auto self = weak.lock()) self->on_master_switched(master);
    });
  }
  begin_attempt();
}

void RedisLink::shutdown() {
  if (state_ == State::stopped) return;
  const bool was_ready = state_ == State::ready;
  state_ = State::stopped;
  retry_timer_.cancel();
  connect_timer_.cancel();
  watchdog_timer_.cancel();
  resolver_.cancel();
  if (sentinel_) sentinel_->shutdown();
  // Pending reply callbacks come back from hiredis with a null reply and are dropped;
  // hook_cleanup releases the descriptor before hiredis closes the fd.
  if (context_ != nullptr) redisAsyncFree(context_);
  context_ = nullptr;
  if (was_ready) metrics_.connected.set(0);
}

// --- connecting --------------------------------------------------------------------------

void RedisLink::begin_attempt() {
  if (!sentinel_) {
    connect_host(config_.host, config_.port);
    return;
  }
  // Sentinel mode: where the master is now, asked before every attempt.
  state_ = State::resolving;
  sentinel_->resolve([self = shared_from_this()](std::optional<Endpoint> master,
                                                 const std::string& error) {
    if (self->state_ != State::resolving) return;  // stopped meanwhile
    if (!master) {
      self->on_context_gone("sentinel: " + error);
      return;
    }
    self->connect_host(master->host, master->port);
  });
}

void RedisLink::connect_host(const std::string& host, std::uint16_t port) {
  target_ = Endpoint{host, port};
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    connect_to(address.to_string(), port);
    return;
  }
  // A name: resolve off the loop (hiredis would call getaddrinfo on it, blocking).
  state_ = State::resolving;
  resolver_.async_resolve(
      host, std::to_string(port),
      [self = shared_from_this(), host, port](const boost::system::error_code& error,
                                              const asio::ip::tcp::resolver::results_type& results) {
        if (self->state_ != State::resolving) return;  // stopped meanwhile
        if (error || results.empty()) {
          self->on_context_gone("resolve " + host + ": " +
                                (error ? error.message() : std::string("no address")));
          return;
        }
        self->connect_to(results.begin()->endpoint().address().to_string(), port);
      });
}

void RedisLink::connect_to(const std::string& address, std::uint16_t port) {
  redisAsyncContext* context = redisAsyncConnect(address.c_str(), port);
  if (context == nullptr || context->err != 0) {
    std::string reason = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) redisAsyncFree(context);
    on_context_gone(reason);
    return;
  }
  redisEnableKeepAlive(&context->c);
  attempt_ = std::make_unique<Attempt>(Attempt{this, context});
  context_ = context;
  context->data = this;
  want_read_ = want_write_ = read_waiting_ = write_waiting_ = false;
  socket_ = std::make_unique<asio::posix::stream_descriptor>(executor_, context->c.fd);
  context->ev.data = attempt_.get();
  context->ev.addRead = &RedisLink::hook_add_read;
  context->ev.delRead = &RedisLink::hook_del_read;
  context->ev.addWrite = &RedisLink::hook_add_write;
  context->ev.delWrite = &RedisLink::hook_del_write;
  context->ev.cleanup = &RedisLink::hook_cleanup;
  state_ = State::connecting;
  // Also asks for the first write event, which is how hiredis learns the connect finished.
  redisAsyncSetConnectCallback(context, &RedisLink::on_connect_cb);

  connect_timer_.expires_after(config_.connect_timeout);
  connect_timer_.async_wait(
      [self = shared_from_this(), generation = generation_](const boost::system::error_code& ec) {
        if (ec || generation != self->generation_) return;
        if (self->state_ == State::connecting || self->state_ == State::handshaking) {
          self->abort_context("connect timeout");
        }
      });
}

void RedisLink::on_connect_cb(const redisAsyncContext* context, int status) {
  static_cast<RedisLink*>(context->data)->on_connected(status);
}

void RedisLink::on_connected(int status) {
  // On failure hiredis frees the context right after this; hook_cleanup takes it from there.
  if (status != REDIS_OK || state_ != State::connecting) return;
  state_ = State::handshaking;
  handshake_left_ = 0;
  if (!config_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!config_.username.empty()) auth.push_back(config_.username);
    auth.push_back(config_.password);
    if (send(auth, &RedisLink::on_handshake_cb, nullptr)) ++handshake_left_;
  }
  if (config_.db != 0 && role_ == Role::command) {
    if (send({"SELECT", std::to_string(config_.db)}, &RedisLink::on_handshake_cb, nullptr)) {
      ++handshake_left_;
    }
  }
  // What a sentinel says may be stale (a failover in progress): only a master will do.
  if (sentinel_ && send({"ROLE"}, &RedisLink::on_role_cb, nullptr)) ++handshake_left_;
  if (handshake_left_ == 0) become_ready();
}

void RedisLink::on_role_cb(redisAsyncContext* context, void* reply, void*) {
  if (reply == nullptr) return;  // the context is going away
  static_cast<RedisLink*>(context->data)->on_role_reply(static_cast<redisReply*>(reply));
}

void RedisLink::on_role_reply(const redisReply* reply) {
  if (state_ != State::handshaking) return;
  const bool master = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                      reply->element[0]->type == REDIS_REPLY_STRING &&
                      text_of(*reply->element[0]) == "master";
  if (!master) {
    abort_reason_ = "not the master (ROLE: " +
                    (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
                         ? std::string(text_of(*reply->element[0]))
                         : std::string(text_of(*reply))) +
                    ")";
    state_ = State::connecting;  // later handshake replies are ignored
    redisAsyncDisconnect(context_);
    return;
  }
  if (--handshake_left_ == 0) become_ready();
}

// A sentinel announced a new master: a link on another one leaves it (the old master may
// live on as a replica: commands would fail READONLY, and its channels go quiet).
void RedisLink::on_master_switched(const Endpoint& master) {
  logger_.info("redis_master_switched", {{"connection", config_.name},
                                         {"master_name", config_.sentinel.master_name},
                                         {"host", master.host},
                                         {"port", master.port}});
  if (state_ == State::waiting) {
    retry_timer_.cancel();
    state_ = State::idle;
    begin_attempt();
    return;
  }
  if (context_ != nullptr && !(target_ == master)) abort_context("the master moved");
}

void RedisLink::on_handshake_cb(redisAsyncContext* context, void* reply, void*) {
  if (reply == nullptr) return;  // the context is going away
  static_cast<RedisLink*>(context->data)->on_handshake_reply(static_cast<redisReply*>(reply));
}

void RedisLink::on_handshake_reply(const redisReply* reply) {
  if (state_ != State::handshaking) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    // E.g. WRONGPASS: reported by on_context_gone; retried with backoff like any failure.
    abort_reason_ = std::string(text_of(*reply));
    state_ = State::connecting;  // later handshake replies are ignored
    redisAsyncDisconnect(context_);
    return;
  }
  if (--handshake_left_ == 0) become_ready();
}

void RedisLink::become_ready() {
  state_ = State::ready;
  connect_timer_.cancel();
  backoff_.reset();
  last_failure_.clear();
  if (ever_ready_) metrics_.reconnects.inc();
  ever_ready_ = true;
  metrics_.connected.set(1);
  logger_.info("redis_connected", {{"connection", config_.name},
                                   {"host", target_.host},
                                   {"port", target_.port},
                                   {"db", config_.db}});
  if (role_ == Role::subscriber && !channels_.empty()) {
    send_subscribe(std::vector<std::string>(channels_.begin(), channels_.end()));
  }
  if (role_ == Role::command) arm_watchdog();
  post_state(true);
}

void RedisLink::arm_watchdog() {
  watchdog_timer_.expires_after(std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(1000), config_.command_timeout));
  watchdog_timer_.async_wait(
      [self = shared_from_this(), generation = generation_](const boost::system::error_code& ec) {
        if (ec || generation != self->generation_ || self->state_ != State::ready) return;
        if (!self->sent_at_.empty() &&
            std::chrono::steady_clock::now() - self->sent_at_.front() > self->config_.command_timeout) {
          self->abort_context("command timeout");
          return;
        }
        self->arm_watchdog();
      });
}

void RedisLink::abort_context(const char* reason) {
  if (context_ == nullptr) return;
  abort_reason_ = reason;  // reported by on_context_gone via the cleanup hook
  redisAsyncFree(context_);
}

// Every end of a context passes here exactly once: hiredis's cleanup hook (error, EOF,
// refused connect, our disconnect or free) or a failure before a context existed.
void RedisLink::on_context_gone(const std::string& reason) {
  if (socket_) {
    socket_->release();  // hiredis owns the fd and closes it right after this
    socket_.reset();
  }
  context_ = nullptr;
  ++generation_;
  want_read_ = want_write_ = read_waiting_ = write_waiting_ = false;
  sent_at_.clear();
  server_channels_.clear();
  if (state_ == State::stopped) return;
  connect_timer_.cancel();
  const bool was_ready = state_ == State::ready;
  state_ = State::waiting;
  if (was_ready) {
    metrics_.connected.set(0);
    logger_.warn("redis_disconnected", {{"connection", config_.name}, {"error", reason}});
    post_state(false);
  } else if (reason != last_failure_) {
    logger_.warn("redis_connect_failed", {{"connection", config_.name},
                                          {"host", target_.host},
                                          {"port", target_.port},
                                          {"error", reason}});
  }
  last_failure_ = reason;
  schedule_reconnect();
}

void RedisLink::schedule_reconnect() {
  retry_timer_.expires_after(backoff_.next());
  retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::waiting) return;
    self->begin_attempt();
  });
}

// --- hiredis event hooks -----------------------------------------------------------------

void RedisLink::hook_add_read(void* privdata) {
  auto* attempt = static_cast<Attempt*>(privdata);
  if (attempt->cleaned) return;
  attempt->link->want_read_ = true;
  attempt->link->arm_read();
}

void RedisLink::hook_del_read(void* privdata) {
  auto* attempt = static_cast<Attempt*>(privdata);
  if (!attempt->cleaned) attempt->link->want_read_ = false;
}

void RedisLink::hook_add_write(void* privdata) {
  auto* attempt = static_cast<Attempt*>(privdata);
  if (attempt->cleaned) return;
  attempt->link->want_write_ = true;
  attempt->link->arm_write();
}

void RedisLink::hook_del_write(void* privdata) {
  auto* attempt = static_cast<Attempt*>(privdata);
  if (!attempt->cleaned) attempt->link->want_write_ = false;
}

void RedisLink::hook_cleanup(void* privdata) {
  auto* attempt = static_cast<Attempt*>(privdata);
  if (attempt->cleaned) return;  // hiredis 0.14 may call this twice
  attempt->cleaned = true;
  const redisAsyncContext* context = attempt->context;
  RedisLink& link = *attempt->link;
  std::string reason = context->err != 0             ? std::string(context->errstr)
                       : !link.abort_reason_.empty() ? link.abort_reason_
                                                     : std::string("closed");
  link.abort_reason_.clear();
  link.on_context_gone(reason);
}

// A wait stays armed only while hiredis wants that direction; a completion for an older
// context (generation) or after delRead/delWrite does nothing.
void RedisLink::arm_read() {
  if (!socket_ || read_waiting_) return;
  read_waiting_ = true;
  socket_->async_wait(
      asio::posix::stream_descriptor::wait_read,
      [self = shared_from_this(), generation = generation_](const boost::system::error_code& ec) {
        self->on_readable(ec, generation);
      });
}

void RedisLink::arm_write() {
  if (!socket_ || write_waiting_) return;
  write_waiting_ = true;
  socket_->async_wait(
      asio::posix::stream_descriptor::wait_write,
      [self = shared_from_this(), generation = generation_](const boost::system::error_code& ec) {
        self->on_writable(ec, generation);
      });
}

void RedisLink::on_readable(const boost::system::error_code& ec, std::uint64_t generation) {
  if (generation != generation_ || context_ == nullptr) return;
  read_waiting_ = false;
  if (ec) {
    abort_context("socket wait failed");
    return;
  }
  if (!want_read_) return;
  redisAsyncHandleRead(context_);  // may end the context (generation moves on)
  if (generation == generation_ && want_read_) arm_read();
}

void RedisLink::on_writable(const boost::system::error_code& ec, std::uint64_t generation) {
  if (generation != generation_ || context_ == nullptr) return;
  write_waiting_ = false;
  if (ec) {
    abort_context("socket wait failed");
    return;
  }
  if (!want_write_) return;
  redisAsyncHandleWrite(context_);
  if (generation == generation_ && want_write_) arm_write();
}

// --- commands ----------------------------------------------------------------------------

bool RedisLink::send(const std::vector<std::string>& args,
                     void (*fn)(redisAsyncContext*, void*, void*), void* privdata) {
  if (context_ == nullptr || args.empty()) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return redisAsyncCommandArgv(context_, fn, privdata, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) == REDIS_OK;
}

void RedisLink::command(const std::vector<std::string>& args, ReplyCallback callback) {
  if (state_ != State::ready) {
    fail(std::move(callback), std::string(kErrDisconnected) + " redis connection is down");
    return;
  }
  if (pending_ >= config_.max_pending) {
    fail(std::move(callback), std::string(kErrOverloaded) + " too many pending redis commands");
    return;
  }
  auto holder = std::make_unique<ReplyCallback>(std::move(callback));
  if (!send(args, &RedisLink::on_reply_cb, holder.get())) {
    fail(std::move(*holder), std::string(kErrDisconnected) + " redis command not accepted");
    return;
  }
  holder.release();  // owned by hiredis until on_reply_cb
  ++pending_;
  sent_at_.push_back(std::chrono::steady_clock::now());
}

void RedisLink::on_reply_cb(redisAsyncContext* context, void* reply, void* privdata) {
  std::unique_ptr<ReplyCallback> callback(static_cast<ReplyCallback*>(privdata));
  static_cast<RedisLink*>(context->data)
      ->on_reply(static_cast<const redisReply*>(reply), std::move(*callback));
}

void RedisLink::on_reply(const redisReply* reply, ReplyCallback callback) {
  --pending_;
  if (!sent_at_.empty()) sent_at_.pop_front();
  if (state_ == State::stopped) return;  // dropped: nothing is called after shutdown
  Reply value = reply != nullptr ? copy_reply(*reply)
                                 : Reply::from_error(std::string(kErrConnectionLost) +
                                                     " redis connection lost before the reply");
  // NOSCRIPT is eval_sha's cache miss, answered by a fallback to EVAL, not a failure.
  if (value.is_error() && value.error_code() != "NOSCRIPT") metrics_.command_errors.inc();
  // The server this link is on was made a replica: find the master again.
  const bool demoted = sentinel_ && value.error_code() == "READONLY";
  asio::post(executor_, [self = shared_from_this(), callback = std::move(callback),
                         value = std::move(value)]() mutable {
    if (self->state_ != State::stopped) callback(std::move(value));
  });
  if (demoted) {  // not inside hiredis's callback
    asio::post(executor_, [self = shared_from_this(), generation = generation_] {
      if (generation == self->generation_ && self->state_ == State::ready) {
        self->abort_context("the server is a replica now (READONLY)");
      }
    });
  }
}

void RedisLink::fail(ReplyCallback callback, std::string error) {
  metrics_.command_errors.inc();
  asio::post(executor_, [self = shared_from_this(), callback = std::move(callback),
                         error = std::move(error)]() mutable {
    if (self->state_ != State::stopped) callback(Reply::from_error(std::move(error)));
  });
}

void RedisLink::post_state(bool connected) {
  asio::post(executor_, [self = shared_from_this(), connected] {
    if (self->state_ != State::stopped && self->state_handler_) self->state_handler_(connected);
  });
}

// --- pub/sub -----------------------------------------------------------------------------
//
// hiredis 0.14 leaves subscribed mode when an UNSUBSCRIBE reply reports zero channels; a
// SUBSCRIBE sent before that reply arrives would then hit an assertion. So the last channel
// is never UNSUBSCRIBEd: it lingers on the server (its messages are filtered out here) until
// another SUBSCRIBE has been sent, after which it is safe to drop.

void RedisLink::subscribe(const std::string& channel) {
  if (!channels_.insert(channel).second) return;
  if (state_ != State::ready) return;  // sent with the others once connected
  if (server_channels_.contains(channel)) {
    // Still subscribed from before (lingering): active already.
    asio::post(executor_, [self = shared_from_this(), channel] {
      if (self->state_ != State::stopped && self->subscribed_handler_ &&
          self->channels_.contains(channel)) {
        self->subscribed_handler_(channel);
      }
    });
    return;
  }
  send_subscribe({channel});
  prune_lingering();
}

void RedisLink::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0) return;
  if (state_ == State::ready) prune_lingering();
}

void RedisLink::send_subscribe(const std::vector<std::string>& channels) {
  std::vector<std::string> args{"SUBSCRIBE"};
  args.insert(args.end(), channels.begin(), channels.end());
  if (send(args, &RedisLink::on_push_cb, nullptr)) {
    server_channels_.insert(channels.begin(), channels.end());
  }
}

void RedisLink::send_unsubscribe(const std::string& channel) {
  if (send({"UNSUBSCRIBE", channel}, nullptr, nullptr)) server_channels_.erase(channel);
}

void RedisLink::prune_lingering() {
  std::vector<std::string> stale;
  for (const auto& channel : server_channels_) {
    if (!channels_.contains(channel)) stale.push_back(channel);
  }
  for (const auto& channel : stale) {
    if (server_channels_.size() <= 1) break;
    send_unsubscribe(channel);
  }
}

void RedisLink::on_push_cb(redisAsyncContext* context, void* reply, void*) {
  if (reply == nullptr) return;  // the context is going away
  static_cast<RedisLink*>(context->data)->on_push(*static_cast<const redisReply*>(reply));
}

void RedisLink::on_push(const redisReply& reply) {
  if (state_ != State::ready || reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) return;
  const redisReply& kind = *reply.element[0];
  const redisReply& name = *reply.element[1];
  if (kind.type != REDIS_REPLY_STRING || name.type != REDIS_REPLY_STRING) return;
  std::string channel(text_of(name));
  if (!channels_.contains(channel)) return;  // unsubscribed (or lingering)
  if (text_of(kind) == "message" && reply.element[2]->type == REDIS_REPLY_STRING) {
    asio::post(executor_, [self = shared_from_this(), channel = std::move(channel),
                           message = std::string(text_of(*reply.element[2]))] {
      // Re-checked: unsubscribe() means no message for that channel from then on.
      if (self->state_ != State::stopped && self->message_handler_ &&
          self->channels_.contains(channel)) {
        self->message_handler_(channel, message);
      }
    });
  } else if (text_of(kind) == "subscribe") {
    asio::post(executor_, [self = shared_from_this(), channel = std::move(channel)] {
      if (self->state_ != State::stopped && self->subscribed_handler_ &&
          self->channels_.contains(channel)) {
        self->subscribed_handler_(channel);
      }
    });
  }
}

}  // namespace tandem::redis::detail
