#pragma once
// Internal: one hiredis redisAsyncContext at a time, driven on the Asio loop, plus the
// reconnect loop around it. RedisConnection (commands) and RedisSubscriber (pub/sub) are
// thin handles over a shared RedisLink; only .cpp files of this library include this
// header.
//
// The socket is borrowed: hiredis opens it and closes it; we wrap the fd in a
// posix::stream_descriptor only to async_wait for readiness, and release() it (never
// close) when hiredis tells us (ev.cleanup) that the context is going away.
//
// Every completion holds shared_from_this(). Everything a user passed in (reply callbacks,
// handlers) runs from a handler posted to the executor, never inside a hiredis callback and
// never inside the call that issued it, and never after shutdown().
#include "obs/logger.hpp"
#include "redis/backoff.hpp"
#include "redis/redis_config.hpp"
#include "redis/redis_metrics.hpp"
#include "redis/reply.hpp"
#include "redis/sentinel_client.hpp"
#include "redis/types.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace tandem::redis::detail {

using ReplyCallback = std::function<void(Reply)>;
using StateHandler = std::function<void(bool connected)>;
using MessageHandler = std::function<void(const std::string& channel, const std::string& message)>;
using SubscribedHandler = std::function<void(const std::string& channel)>;

class RedisLink : public std::enable_shared_from_this<RedisLink> {
 public:
  enum class Role { command, subscriber };

  RedisLink(Executor executor, RedisConfig config, obs::Logger& logger, obs::Registry& registry,
            Role role);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  void start();
  // Frees the context (pending reply callbacks are dropped, not called), stops timers.
  // Idempotent. Nothing the user passed in is called afterwards.
  void shutdown();

  bool connected() const noexcept { return state_ == State::ready; }
  std::size_t pending() const noexcept { return pending_; }
  void set_state_handler(StateHandler handler) { state_handler_ = std::move(handler); }

  // Command role.
  void command(const std::vector<std::string>& args, ReplyCallback callback);

  // Subscriber role.
  void set_message_handler(MessageHandler handler) { message_handler_ = std::move(handler); }
  void set_subscribed_handler(SubscribedHandler handler) {
    subscribed_handler_ = std::move(handler);
  }
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  const std::set<std::string>& channels() const noexcept { return channels_; }

 private:
  enum class State { idle, resolving, connecting, handshaking, ready, waiting, stopped };
  // What hiredis's ev hooks get as privdata: one per context, so a second cleanup call
  // (hiredis 0.14 may call it twice) is recognised.
  struct Attempt {
    RedisLink* link;
    redisAsyncContext* context;
    bool cleaned = false;
  };

  // hiredis hooks and callbacks (C linkage-compatible statics).
  static void hook_add_read(void* privdata);
  static void hook_del_read(void* privdata);
  static void hook_add_write(void* privdata);
  static void hook_del_write(void* privdata);
  static void hook_cleanup(void* privdata);
  static void on_connect_cb(const redisAsyncContext* context, int status);
  static void on_handshake_cb(redisAsyncContext* context, void* reply, void* privdata);
  static void on_role_cb(redisAsyncContext* context, void* reply, void* privdata);
  static void on_reply_cb(redisAsyncContext* context, void* reply, void* privdata);
  static void on_push_cb(redisAsyncContext* context, void* reply, void* privdata);

  void begin_attempt();
  void connect_host(const std::string& host, std::uint16_t port);
  void connect_to(const std::string& address, std::uint16_t port);
  void on_role_reply(const redisReply* reply);
  void on_master_switched(const Endpoint& master);
  void on_connected(int status);
  void on_handshake_reply(const redisReply* reply);
  void become_ready();
  void on_context_gone(const std::string& reason);
  void schedule_reconnect();
  void arm_watchdog();
  void abort_context(const char* reason);

  void arm_read();
  void arm_write();
  void on_readable(const boost::system::error_code& ec, std::uint64_t generation);
  void on_writable(const boost::system::error_code& ec, std::uint64_t generation);

  bool send(const std::vector<std::string>& args, void (*fn)(redisAsyncContext*, void*, void*),
            void* privdata);
  void on_reply(const redisReply* reply, ReplyCallback callback);
  void on_push(const redisReply& reply);
  void send_subscribe(const std::vector<std::string>& channels);
  void send_unsubscribe(const std::string& channel);
  void prune_lingering();

  void fail(ReplyCallback callback, std::string error);
  void post_state(bool connected);

  Executor executor_;
  RedisConfig config_;
  obs::Logger& logger_;
  RedisMetrics metrics_;
  Role role_;

  std::shared_ptr<SentinelClient> sentinel_;  // Sentinel mode only
  Endpoint target_;                           // where this attempt connects (the master)
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer retry_timer_;
  asio::steady_timer connect_timer_;
  asio::steady_timer watchdog_timer_;  // command_timeout, checked while ready
  Backoff backoff_;

  State state_ = State::idle;
  std::unique_ptr<Attempt> attempt_;
  redisAsyncContext* context_ = nullptr;
  std::unique_ptr<asio::posix::stream_descriptor> socket_;
  std::uint64_t generation_ = 0;  // bumped when a context goes away
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  int handshake_left_ = 0;
  bool ever_ready_ = false;
  std::string last_failure_;  // logged once per distinct reason while down
  std::string abort_reason_;  // why we ended the context ourselves (for the log)

  std::size_t pending_ = 0;
  std::deque<std::chrono::steady_clock::time_point> sent_at_;  // commands in flight, in order

  std::set<std::string> channels_;         // what the user wants (kept across reconnects)
  std::set<std::string> server_channels_;  // SUBSCRIBEd on this context, not UNSUBSCRIBEd

  StateHandler state_handler_;
  MessageHandler message_handler_;
  SubscribedHandler subscribed_handler_;
};

}  // namespace tandem::redis::detail
